"""Names of the registered architectures, importable without torch (for CLI choices and the
plugin's dialogs). tests/backend/test_models.py checks that they match the model registry."""

from ..spec.choices import DECODERS as DECODER_NAMES
from ..spec.choices import DEFAULT_BASE_WIDTH
from ..spec.choices import ENCODERS as ENCODER_NAMES

__all__ = ["DECODER_NAMES", "DEFAULT_BASE_WIDTH", "ENCODER_NAMES"]
