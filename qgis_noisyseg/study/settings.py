"""What every run of a study shares (``TrainingSettings``), turned into the commands' typed
options (spec/commands.py), and the settings a study records in study.json."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from ..core.errors import UserError
from ..spec.commands import PRETRAIN_LOSS
from ..spec.names import MANIFEST


ALL = "all"


@dataclass
class TrainingSettings:
    """The options every pretraining and fine-tuning run of a study shares."""

    epochs: int = 30
    pretrain_epochs: int = 20
    simclr_epochs: Optional[int] = None
    encoder: str = "resnet18"
    base_width: int = 64
    batch_size: int = 8
    lr: float = 1e-3
    pretrain_lr: float = 1e-3
    patience: Optional[int] = None
    pretrain_label_smoothing: float = 0.0
    pretrain_loss: str = PRETRAIN_LOSS
    device: str = "auto"
    min_steps: Optional[int] = None
    class_weights: bool = False
    tiles_with: Optional[str] = None
    encoder_weights: Optional[str] = None  # --encoder-weights of pretraining and of the scratch runs
    rgb_bands: Optional[str] = None

    def finetune_epochs(self, tiles: int) -> int:
        """``epochs``, or more when K tiles give fewer than ``min_steps`` optimizer steps in
        that many epochs (with K=2 and batch 8, 60 epochs are 60 steps)."""
        if not self.min_steps:
            return self.epochs
        return max(self.epochs, math.ceil(self.min_steps / math.ceil(tiles / self.batch_size)))

    def check(self) -> None:
        for name in ("epochs", "pretrain_epochs", "simclr_epochs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        for name in ("base_width", "batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("lr", "pretrain_lr"):
            if not getattr(self, name) > 0:
                raise UserError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.pretrain_label_smoothing < 1.0:
            raise UserError(f"--pretrain-label-smoothing must be in [0, 1), got {self.pretrain_label_smoothing}")
        if self.patience is not None and self.patience < 1:
            raise UserError(f"--patience must be at least 1, got {self.patience}")
        if self.min_steps is not None and self.min_steps < 1:
            raise UserError(f"--min-steps must be at least 1, got {self.min_steps}")
        if self.rgb_bands and not self.encoder_weights:
            raise UserError("--rgb-bands says which bands the weights' red, green and blue kernels go to; pass it with "
                            "--encoder-weights")
        if self.encoder_weights and self.encoder_weights != "imagenet" and not Path(self.encoder_weights).is_file():
            raise UserError(f"--encoder-weights {self.encoder_weights} is not a file; give a .pth state dict, "
                            "imagenet or none")

    def pretrain_options(self, data: Path, method: str, decoder: str = "unet"):
        """The typed options of a pretraining run of the study (spec/commands.py), without --out."""
        from ..spec.commands import PretrainOptions

        return PretrainOptions(data=str(data), method=method, encoder=self.encoder, decoder=decoder,
                               base_width=self.base_width, epochs=self.pretrain_epochs, batch_size=self.batch_size,
                               lr=self.pretrain_lr, label_smoothing=self.pretrain_label_smoothing,
                               loss=self.pretrain_loss, device=self.device, seed=0, simclr_epochs=self.simclr_epochs,
                               **self._shared(), **self._weights())

    def finetune_options(self, data: Path, init: Optional[Path], k: int | str, seed: int, tiles: int,
                         decoder: Optional[str] = None, transfer: str = "auto", freeze: str = "none"):
        """The typed options of a fine-tuning run of the study, without --out. A run that starts
        from a pretrained model brings its own encoder: the weights go to the pretraining runs and
        to the runs from scratch, which they then start."""
        from ..spec.commands import FinetuneOptions

        drawn = {"max_tiles": int(k), "tiles_with": self.tiles_with} if k != ALL else {}
        return FinetuneOptions(data=str(data), init=str(init) if init else "none", encoder=self.encoder,
                               base_width=self.base_width, epochs=self.finetune_epochs(tiles),
                               batch_size=self.batch_size, lr=self.lr, transfer=transfer, freeze=freeze,
                               device=self.device, seed=seed, decoder=decoder or None, **drawn, **self._shared(),
                               **(self._weights() if init is None else {}))

    def pretrain_argv(self, data: Path, method: str, decoder: str = "unet") -> list[str]:
        """The command line of ``pretrain_options`` (what result files record)."""
        from ..spec.fields import to_argv

        return ["pretrain", *to_argv(self.pretrain_options(data, method, decoder))]

    def finetune_argv(self, data: Path, init: Optional[Path], k: int | str, seed: int, tiles: int,
                      decoder: Optional[str] = None, transfer: str = "auto", freeze: str = "none") -> list[str]:
        from ..spec.fields import to_argv

        return ["finetune", *to_argv(self.finetune_options(data, init, k, seed, tiles, decoder, transfer, freeze))]

    def _weights(self) -> dict:
        if not self.encoder_weights:
            return {}
        return {"encoder_weights": self.encoder_weights, "rgb_bands": self.rgb_bands or None}

    def _shared(self) -> dict:
        return {"patience": self.patience, "class_weights": self.class_weights}


def drawable_tiles(clean_data, settings: TrainingSettings, option: str = "--clean") -> tuple[int, str]:
    """How many train tiles of ``clean_data`` K tiles are drawn from, and what they are (for
    errors): all of them, or with ``--tiles-with`` those whose labels contain that class."""
    from ..core.dataset import tiles_containing

    tiles = clean_data.split("train")
    if not settings.tiles_with:
        return len(tiles), f"train tiles of {option} {clean_data.root}"
    class_id = clean_data.class_named(settings.tiles_with, "--tiles-with")
    return len(tiles_containing(tiles, class_id)), f"train tiles with {settings.tiles_with} of {option} {clean_data.root}"


DATASET_KEYS = ("noisy", "clean", "test")


def study_settings(settings: TrainingSettings, **extra: Any) -> dict:
    """The settings recorded in study.json: JSON-plain, paths as resolved strings, and the
    checksum of each dataset's manifest (``clean_sha256``, ...): a rerun resumes only on the
    same datasets, not on others swapped in at the same paths."""
    from ..core.imagery import sha256_of

    record = asdict(settings)
    for key, value in extra.items():
        record[key] = str(Path(value).resolve()) if isinstance(value, Path) else value
        if key in DATASET_KEYS and value is not None and (Path(value) / MANIFEST).is_file():
            record[f"{key}_sha256"] = sha256_of([Path(value) / MANIFEST])
    return json.loads(json.dumps(record))
