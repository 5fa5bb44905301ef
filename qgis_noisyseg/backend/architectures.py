"""Names of the registered architectures, importable without torch (for CLI choices and the
plugin's dialogs). tests/backend/test_models.py checks that they match the model registry."""

ENCODER_NAMES = ("resnet18", "resnet34", "resnet50")
DECODER_NAMES = ("unet", "fpn", "deeplabv3plus")
DEFAULT_BASE_WIDTH = 64
