"""Segmentation decoders.

Each decoder takes the encoder's five feature maps ``[stem, layer1, layer2, layer3, layer4]`` at
strides ``(2, 4, 8, 16, 32)`` and returns a feature map with ``out_channels`` channels at the
full input resolution, so the input's height and width must be multiples of 32.
``block_names()`` lists the decoder's blocks in the order ``forward`` runs them.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import ConvBNReLU, SeparableConvBNReLU, init_weights


def _upsample_to(x: Tensor, reference: Tensor, mode: str = "bilinear") -> Tensor:
    if mode == "nearest":
        return F.interpolate(x, size=reference.shape[-2:], mode="nearest")
    return F.interpolate(x, size=reference.shape[-2:], mode=mode, align_corners=False)


class UNetBlock(nn.Module):
    """Upsample x2 (nearest), concatenate the skip (if any), two 3x3 ConvBNReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = ConvBNReLU(in_channels + skip_channels, out_channels)
        self.conv2 = ConvBNReLU(out_channels, out_channels)

    def forward(self, x: Tensor, skip: Tensor | None = None) -> Tensor:
        if skip is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = torch.cat([_upsample_to(x, skip, "nearest"), skip], dim=1)
        return self.conv2(self.conv1(x))


class UNetDecoder(nn.Module):
    """U-Net decoder (Ronneberger et al. 2015) as in segmentation_models_pytorch.

    ``block1``..``block4`` upsample from stride 32 to 2, joining the skips of ``layer3``,
    ``layer2``, ``layer1`` and ``stem``; ``block5`` reaches the input resolution with no skip.
    ``decoder_channels`` is the width of ``block1``; each later block halves it, down to at
    least 16 (256 gives 256, 128, 64, 32, 16).
    """

    def __init__(self, encoder_channels: Sequence[int], decoder_channels: int = 256):
        super().__init__()
        widths = [max(decoder_channels >> i, min(decoder_channels, 16)) for i in range(5)]
        skips = [*encoder_channels[-2::-1], 0]
        in_channels = encoder_channels[-1]
        for name, skip_channels, width in zip(self.block_names(), skips, widths):
            setattr(self, name, UNetBlock(in_channels, skip_channels, width))
            in_channels = width
        self.out_channels = widths[-1]
        init_weights(self)

    @staticmethod
    def block_names() -> tuple[str, ...]:
        return ("block1", "block2", "block3", "block4", "block5")

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        *skips, x = features
        for name, skip in zip(self.block_names(), [*skips[::-1], None]):
            x = getattr(self, name)(x, skip)
        return x


def _semantic_branch(in_channels: int, out_channels: int, upsamplings: int) -> nn.Sequential:
    """Panoptic FPN's per-level branch: 3x3 ConvBNReLU (+ bilinear x2) until stride 4."""
    layers: list[nn.Module] = [ConvBNReLU(in_channels, out_channels)]
    for i in range(upsamplings):
        if i > 0:
            layers.append(ConvBNReLU(out_channels, out_channels))
        layers.append(nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False))
    return nn.Sequential(*layers)


class FPNDecoder(nn.Module):
    """FPN (Lin et al. 2017) with the semantic branch of Panoptic FPN (Kirillov et al. 2019).

    ``lateral``: 1x1 convolutions from ``layer4``..``layer1`` (coarsest first) to
    ``decoder_channels``, summed top-down with nearest upsampling into pyramid levels P5..P2.
    ``semantic``: one branch per level (same order) bringing it to stride 4 with
    ``decoder_channels // 2`` channels; the branches are summed and upsampled x4 (bilinear).
    The stem feature is not used.
    """

    def __init__(self, encoder_channels: Sequence[int], decoder_channels: int = 256):
        super().__init__()
        pyramid_inputs = encoder_channels[:0:-1]
        self.out_channels = max(decoder_channels // 2, 1)
        self.lateral = nn.ModuleList(nn.Conv2d(c, decoder_channels, 1) for c in pyramid_inputs)
        self.semantic = nn.ModuleList(
            _semantic_branch(decoder_channels, self.out_channels, upsamplings)
            for upsamplings in range(len(pyramid_inputs) - 1, -1, -1)
        )
        init_weights(self)

    @staticmethod
    def block_names() -> tuple[str, ...]:
        return ("lateral", "semantic")

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        pyramid: list[Tensor] = []
        for lateral, feature in zip(self.lateral, features[:0:-1]):
            level = lateral(feature)
            if pyramid:
                level = level + _upsample_to(pyramid[-1], level, "nearest")
            pyramid.append(level)
        merged = sum(branch(level) for branch, level in zip(self.semantic, pyramid))
        return F.interpolate(merged, scale_factor=4.0, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, atrous separable 3x3 per rate, image pooling."""

    def __init__(self, in_channels: int, out_channels: int, atrous_rates: Sequence[int]):
        super().__init__()
        self.branches = nn.ModuleList(
            [ConvBNReLU(in_channels, out_channels, kernel_size=1)]
            + [SeparableConvBNReLU(in_channels, out_channels, dilation=r) for r in atrous_rates]
        )
        # No BatchNorm: the pooled map holds one value per channel, which fails at batch size 1.
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1), nn.ReLU(inplace=True)
        )
        self.project = ConvBNReLU((len(atrous_rates) + 2) * out_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.image_pool(x).expand(-1, -1, x.shape[-2], x.shape[-1])
        return self.project(torch.cat([branch(x) for branch in self.branches] + [pooled], dim=1))


class DeepLabV3PlusDecoder(nn.Module):
    """DeepLabV3+ decoder (Chen et al. 2018) on a non-dilated encoder (output stride 32).

    ``aspp`` on ``layer4``; the paper's rates (6, 12, 18) are for output stride 16, halved here
    to (3, 6, 9) for stride 32. ``low_level``: 1x1 projection of ``layer1`` (stride 4) to
    ``3/16 * decoder_channels`` channels (48 at the paper's 256), at least 8. ``fuse``: two
    separable 3x3 convolutions on the concatenation, then bilinear x4 to the input resolution.
    """

    def __init__(
        self,
        encoder_channels: Sequence[int],
        decoder_channels: int = 256,
        atrous_rates: Sequence[int] = (3, 6, 9),
    ):
        super().__init__()
        low_level_channels = max(3 * decoder_channels // 16, 8)
        self.aspp = ASPP(encoder_channels[-1], decoder_channels, atrous_rates)
        self.low_level = ConvBNReLU(encoder_channels[1], low_level_channels, kernel_size=1)
        self.fuse = nn.Sequential(
            SeparableConvBNReLU(decoder_channels + low_level_channels, decoder_channels),
            SeparableConvBNReLU(decoder_channels, decoder_channels),
        )
        self.out_channels = decoder_channels
        init_weights(self)

    @staticmethod
    def block_names() -> tuple[str, ...]:
        return ("aspp", "low_level", "fuse")

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        x = self.aspp(features[-1])
        low_level = self.low_level(features[1])
        x = _upsample_to(x, low_level)
        x = self.fuse(torch.cat([x, low_level], dim=1))
        return F.interpolate(x, scale_factor=4.0, mode="bilinear", align_corners=False)
