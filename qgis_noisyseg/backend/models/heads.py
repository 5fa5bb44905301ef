"""Segmentation head: decoder features to per-class logits."""

from __future__ import annotations

from torch import Tensor, nn


class SegmentationHead(nn.Module):
    """A single convolution (1x1 by default) from decoder features to ``num_classes`` logits."""

    def __init__(self, in_channels: int, num_classes: int, kernel_size: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, num_classes, kernel_size, padding=kernel_size // 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)
