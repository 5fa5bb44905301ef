"""ResNet encoders (He et al. 2016) for any number of input bands.

The stride-2 convolution of a Bottleneck sits on its 3x3 conv ("ResNet v1.5"). Block attribute
names inside ``layer1``..``layer4`` follow torchvision (``conv1``, ``bn1``, ..., ``downsample``).
"""

from __future__ import annotations

from typing import Type, Union

from torch import Tensor, nn

from .layers import ConvBNReLU, init_weights


def _downsample(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_channels, planes, stride)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carries the stride), 1x1 expand by 4, with a shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1):
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_channels, out_channels, stride)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


ResidualBlock = Union[Type[BasicBlock], Type[Bottleneck]]


class ResNetEncoder(nn.Module):
    """A ResNet without its classifier, returning the feature map of every stage.

    ``forward(x)`` returns ``[stem, layer1, layer2, layer3, layer4]`` at strides
    ``reductions == (2, 4, 8, 16, 32)`` with ``out_channels`` channels. The 3x3 stride-2 max-pool
    between ``stem`` and ``layer1`` is the parameter-free attribute ``maxpool``, applied in
    ``forward``; it is not a block of its own, so ``layerN`` hold residual blocks only.

    ``base_width`` is the stem width (64 in the standard ResNets); stage widths are
    ``base_width * (1, 2, 4, 8)`` times the block's expansion.
    """

    reductions = (2, 4, 8, 16, 32)

    def __init__(
        self,
        block: ResidualBlock,
        blocks_per_stage: tuple[int, int, int, int],
        in_channels: int = 3,
        base_width: int = 64,
        zero_init_residual: bool = True,
    ):
        super().__init__()
        self.stem = ConvBNReLU(in_channels, base_width, kernel_size=7, stride=2)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = base_width
        for stage, num_blocks in enumerate(blocks_per_stage):
            planes = base_width * 2**stage
            stride = 1 if stage == 0 else 2
            blocks = []
            for i in range(num_blocks):
                blocks.append(block(channels, planes, stride if i == 0 else 1))
                channels = planes * block.expansion
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.out_channels = [base_width] + [
            base_width * 2**stage * block.expansion for stage in range(4)
        ]

        init_weights(self)
        if zero_init_residual:
            # Each residual block starts as the identity (Goyal et al. 2017).
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(m.last_bn.weight)

    @staticmethod
    def block_names() -> tuple[str, ...]:
        return ("stem", "layer1", "layer2", "layer3", "layer4")

    def forward(self, x: Tensor) -> list[Tensor]:
        stem = self.stem(x)
        c1 = self.layer1(self.maxpool(stem))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return [stem, c1, c2, c3, c4]


def resnet18(in_channels: int = 3, base_width: int = 64) -> ResNetEncoder:
    return ResNetEncoder(BasicBlock, (2, 2, 2, 2), in_channels, base_width)


def resnet34(in_channels: int = 3, base_width: int = 64) -> ResNetEncoder:
    return ResNetEncoder(BasicBlock, (3, 4, 6, 3), in_channels, base_width)


def resnet50(in_channels: int = 3, base_width: int = 64) -> ResNetEncoder:
    return ResNetEncoder(Bottleneck, (3, 4, 6, 3), in_channels, base_width)
