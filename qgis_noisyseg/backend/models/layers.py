"""Building blocks shared by encoders and decoders."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


class ConvBNReLU(nn.Sequential):
    """Conv (no bias) + BatchNorm + ReLU, "same" padding; children ``conv``, ``bn``, ``relu``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
    ):
        padding = dilation * (kernel_size - 1) // 2
        super().__init__(
            OrderedDict(
                conv=nn.Conv2d(
                    in_channels, out_channels, kernel_size, stride, padding, dilation, bias=False
                ),
                bn=nn.BatchNorm2d(out_channels),
                relu=nn.ReLU(inplace=True),
            )
        )


class SeparableConvBNReLU(nn.Sequential):
    """Depthwise 3x3 (optionally atrous) + pointwise 1x1, then BatchNorm + ReLU (DeepLabV3+)."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int = 1):
        super().__init__(
            OrderedDict(
                depthwise=nn.Conv2d(
                    in_channels, in_channels, 3, padding=dilation, dilation=dilation,
                    groups=in_channels, bias=False,
                ),
                pointwise=nn.Conv2d(in_channels, out_channels, 1, bias=False),
                bn=nn.BatchNorm2d(out_channels),
                relu=nn.ReLU(inplace=True),
            )
        )


def init_weights(module: nn.Module) -> None:
    """Kaiming-normal (fan_out) convolutions, unit-gamma zero-beta norms, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
