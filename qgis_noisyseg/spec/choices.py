"""The words the commands accept, the exit codes and the JSON event names: one list each.

The backend checks its own registries against these (tests/test_spec.py), so a new encoder or
loss is added here and there, and nowhere else on the QGIS side.
"""

from __future__ import annotations

ENCODERS = ("resnet18", "resnet34", "resnet50")
DECODERS = ("unet", "fpn", "deeplabv3plus")
DEFAULT_BASE_WIDTH = 64  # torchvision's ResNet width, the only one pretrained weights fit
METHODS = ("noisy", "simclr", "simclr+noisy")
AUTO = "auto"
TRANSFER_PARTS = {"encoder": ("encoder",), "encoder+decoder": ("encoder", "decoder"),
                  "all": ("encoder", "decoder", "head")}
TRANSFERS = (AUTO, *TRANSFER_PARTS)
LOSSES = ("ce", "sce", "bootstrap", "ce+dice", "confident")
SCHEDULES = ("cosine", "onecycle")
NORMALIZATIONS = ("image", "dataset")
TRAINING_DEVICES = ("auto", "cpu", "cuda", "mps")
ONNX_DEVICES = ("auto", "cpu", "cuda")
UNLABELED = ("background", "ignore")
SPLITS = ("train", "val", "test", "all")
CONFIDENCE_DTYPES = ("uint8", "float32")
SUGGEST_BY = ("both", "confidence", "disagreement")
NOISE_KINDS = ("remove", "shift", "erode", "dilate", "rotate", "flip")
STUDY_KINDS = ("label-efficiency", "noise", "transfer")
STUDY_INITS = ("scratch", "noisy", "simclr", "simclr+noisy")

# Exit codes of every command (docs/contracts.md).
EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1
EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130

# Events of the JSON-lines protocol (``--json``), one object per line of stdout.
EVENT_PROGRESS = "progress"
EVENT_INFO = "info"
EVENT_WARNING = "warning"
EVENT_ERROR = "error"
EVENT_CANCELLED = "cancelled"
EVENT_DONE = "done"
EVENTS = (EVENT_PROGRESS, EVENT_INFO, EVENT_WARNING, EVENT_ERROR, EVENT_CANCELLED, EVENT_DONE)

# The cancel channel that needs no POSIX signal (Windows kills a process on terminate()): with
# this variable set to "stdin", the backend stops cleanly when it reads CANCEL_LINE on stdin.
CANCEL_ENV = "NOISYSEG_CANCEL"
CANCEL_LINE = "cancel"
