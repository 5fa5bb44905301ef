"""Architecture names and ``build_model``."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ...core.errors import UserError
from ..architectures import DEFAULT_BASE_WIDTH
from . import encoders
from .decoders import DeepLabV3PlusDecoder, FPNDecoder, UNetDecoder
from .heads import SegmentationHead
from .segmentation import SegmentationModel

ENCODERS: dict[str, Callable[..., encoders.ResNetEncoder]] = {
    "resnet18": encoders.resnet18,
    "resnet34": encoders.resnet34,
    "resnet50": encoders.resnet50,
}
DECODERS: dict[str, type] = {
    "unet": UNetDecoder,
    "fpn": FPNDecoder,
    "deeplabv3plus": DeepLabV3PlusDecoder,
}



def _choice(config: Mapping[str, Any], key: str, choices: Mapping[str, Any]) -> str:
    name = config.get(key)
    if not isinstance(name, str) or name not in choices:
        raise UserError(f"Unknown {key} {name!r}. Valid {key}s: {', '.join(choices)}.")
    return name


def _positive_int(config: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"Model config {key!r} must be a positive integer, got {value!r}.")
    return value


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The architecture keys of ``config``, checked and with defaults filled in.

    Other keys (classes, normalisation, ...) are ignored, so a checkpoint's whole config works.
    ``decoder_channels`` defaults to ``4 * base_width`` (256 for the standard 64).
    """
    resolved = {
        "encoder": _choice(config, "encoder", ENCODERS),
        "decoder": _choice(config, "decoder", DECODERS),
        "in_channels": _positive_int(config, "in_channels"),
        "num_classes": _positive_int(config, "num_classes"),
        "base_width": _positive_int(config, "base_width", DEFAULT_BASE_WIDTH),
    }
    resolved["decoder_channels"] = _positive_int(
        config, "decoder_channels", 4 * resolved["base_width"]
    )
    return resolved


def build_model(config: Mapping[str, Any]) -> SegmentationModel:
    """A freshly initialised model from the architecture keys of ``config``."""
    arch = resolve_config(config)
    encoder = ENCODERS[arch["encoder"]](arch["in_channels"], arch["base_width"])
    decoder = DECODERS[arch["decoder"]](encoder.out_channels, arch["decoder_channels"])
    head = SegmentationHead(decoder.out_channels, arch["num_classes"])
    return SegmentationModel(encoder, decoder, head)
