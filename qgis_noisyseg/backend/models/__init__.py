"""Segmentation models: ResNet encoders, U-Net / FPN / DeepLabV3+ decoders, a 1x1 head."""

from .registry import DECODERS, ENCODERS, build_model, resolve_config
from .segmentation import (
    SegmentationModel,
    freeze,
    named_blocks,
    set_train_mode,
    transfer_weights,
    unfreeze,
)

__all__ = [
    "DECODERS",
    "ENCODERS",
    "SegmentationModel",
    "build_model",
    "freeze",
    "named_blocks",
    "resolve_config",
    "set_train_mode",
    "transfer_weights",
    "unfreeze",
]
