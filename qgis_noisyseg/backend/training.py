"""Training loops: supervised segmentation (noisy or clean masks) and SimCLR on images.

Both run epochs the same way (``EpochTrainer``): AdamW with a per-step cosine or one-cycle
schedule, a JSON progress event per batch and an ``epoch`` event per epoch, the best model as
``model.pt`` and a resumable ``last.pt`` after every epoch, and on cancellation (SIGINT/SIGTERM,
raised by ``Reporter.progress``) a ``last.pt`` written before ``Cancelled`` propagates.
Under torchrun the model is wrapped in ``DistributedDataParallel`` and only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..core.errors import Cancelled, UserError
from ..core.metrics import miou
from ..core.progress import Reporter
from .data import make_loader, set_epoch
from .distributed import DistributedContext
from .evaluation import predict_confusion
from .losses import segmentation_loss
from .models import build_model, transfer_weights
from .run_folder import RunFolder
from .simclr import DEFAULT_TEMPERATURE, SimCLRAugment, SimCLRModel, nt_xent_loss


class Diverged(Exception):
    """The training loss became NaN or infinite."""

    def __init__(self, loss: float) -> None:
        super().__init__(loss)
        self.loss = loss


@dataclass
class TrainOptions:
    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    label_smoothing: float = 0.0
    class_weights: bool = False
    patience: Optional[int] = None
    seed: int = 0
    temperature: float = DEFAULT_TEMPERATURE
    loss: str = "ce"
    warmup: float = 0.0
    photometric: float = 0.0
    encoder_lr_scale: float = 1.0
    normalization: str = "dataset"


@dataclass
class Progress:
    """What a resumed run needs besides weights and optimizer: the phase's completed epochs,
    the whole run's history, and the early-stopping bookkeeping."""

    phase: str
    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_score: float = -math.inf
    epochs_since_best: int = 0

    @classmethod
    def from_config(cls, config: dict, phase: str) -> Progress:
        saved = config.get("progress", {})
        if saved.get("phase") != phase:
            return cls(phase, history=list(config.get("history", [])))
        return cls(phase, saved["epoch"], list(config.get("history", [])),
                   saved.get("best_score") if saved.get("best_score") is not None else -math.inf,
                   saved.get("epochs_since_best", 0))

    def to_config(self) -> dict:
        best = self.best_score if math.isfinite(self.best_score) else None
        return {"phase": self.phase, "epoch": self.epoch, "best_score": best, "epochs_since_best": self.epochs_since_best}


def lr_factor(schedule: str, total_steps: int, warmup: float = 0.0) -> Callable[[int], float]:
    """Multiplier of the base learning rate at a step: cosine decay to 0, or one-cycle (linear
    warm-up from 4% over the first 30% of steps, then cosine decay). With ``warmup`` (a
    fraction of the steps, cosine only), the first ``w = round(warmup * total_steps)`` steps
    rise linearly, ``(step + 1) / (w + 1)``, and the cosine decays over the remaining ones."""
    total = max(total_steps, 1)

    def cosine(step: int, start: int = 0) -> float:
        return 0.5 * (1 + math.cos(math.pi * min(step - start, total - start) / max(total - start, 1)))

    if schedule == "cosine":
        steps = int(round(warmup * total))
        if steps <= 0:
            return cosine
        return lambda step: (step + 1) / (steps + 1) if step < steps else cosine(step, steps)
    warm_up = max(1, int(0.3 * total))
    return lambda step: 0.04 + 0.96 * step / warm_up if step < warm_up else cosine(step, warm_up)


def parameter_groups(module: nn.Module, lr: float, encoder_scale: float = 1.0) -> list[dict]:
    """The trainable parameters as AdamW groups: with ``encoder_scale`` other than 1 and a
    model with an ``encoder``, the encoder's at ``lr * encoder_scale`` (second group), the rest
    at ``lr`` (first group, whose rate the history records)."""
    encoder = getattr(module, "encoder", None)
    if encoder_scale == 1.0 or not isinstance(encoder, nn.Module):
        return [{"params": [p for p in module.parameters() if p.requires_grad], "lr": lr}]
    inside = {id(p) for p in encoder.parameters()}
    rest = [p for p in module.parameters() if p.requires_grad and id(p) not in inside]
    enc = [p for p in encoder.parameters() if p.requires_grad]
    return [g for g in ({"params": rest, "lr": lr}, {"params": enc, "lr": lr * encoder_scale}) if g["params"]]


class EpochTrainer:
    """The epoch loop shared by the training methods; subclasses define one step and validation."""

    stage = "train"

    def __init__(self, module: nn.Module, train_data, options: TrainOptions, epochs: int, run: RunFolder,
                 reporter: Reporter, device: torch.device, context: DistributedContext, config: dict,
                 progress: Progress, drop_last: bool = False) -> None:
        self.module = module.to(device)
        self.network = (DistributedDataParallel(self.module, device_ids=[device] if device.type == "cuda" else None)
                        if context.enabled else self.module)
        self.loader: DataLoader = make_loader(train_data, options.batch_size, shuffle=True, seed=options.seed,
                                              drop_last=drop_last, distributed=context.enabled)
        self.options, self.epochs, self.run, self.reporter = options, epochs, run, reporter
        self.device, self.context, self.config, self.progress = device, context, config, progress
        self.amp = device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.optimizer = torch.optim.AdamW(parameter_groups(self.module, options.lr, options.encoder_lr_scale),
                                           lr=options.lr, weight_decay=options.weight_decay)
        steps = epochs * max(len(self.loader), 1)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer,
                                                           lr_factor(options.schedule, steps, options.warmup))

    def restore(self, checkpoint: dict) -> None:
        """Continues from a ``last.pt`` of this phase."""
        try:
            self.module.load_state_dict(checkpoint["state_dict"])
            self.optimizer.load_state_dict(checkpoint["optimizer"])
            self.scheduler.load_state_dict(checkpoint["scheduler"])
        except (KeyError, RuntimeError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"{self.run.last} does not fit this run's model and optimizer ({reason[:160]}); "
                            "start a new run with --overwrite") from None

    # Subclasses: one optimisation step's loss, validation metrics, the model saved as model.pt.
    def loss(self, batch) -> torch.Tensor:
        raise NotImplementedError

    def validate(self) -> dict[str, Any]:
        return {}

    def score(self, record: dict) -> float:
        return -record["loss"]

    def check_epoch(self, epoch: int) -> None:
        """Raises a UserError when the epoch could not have taught the model anything."""

    def segmentation_state(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def fit(self) -> Progress:
        progress = self.progress
        if progress.epoch == 0 and not self.run.best.exists():
            self._save_best()  # so that a run of 0 epochs (or one cancelled at once) still has a model
        while progress.epoch < self.epochs:
            epoch = progress.epoch + 1
            started = time.monotonic()
            try:
                loss = self._train_epoch(epoch)
            except Cancelled:
                self._save_last()
                self.run.write_history(progress.history)
                raise
            except Diverged as exc:  # the weights are garbage now: keep the last good checkpoints
                self.run.write_history(progress.history)
                kept = f"; the last good checkpoint is {self.run.last} (epoch {progress.epoch})" if progress.epoch else ""
                raise UserError(f"training diverged at epoch {epoch} (loss {exc.loss}){kept}; lower --lr "
                                f"(it was {self.options.lr:g})") from None
            self.check_epoch(epoch)
            record = {"phase": progress.phase, "epoch": epoch, "loss": loss,
                      "lr": self.optimizer.param_groups[0]["lr"], **self.validate(),
                      "seconds": round(time.monotonic() - started, 3)}
            progress.history.append(record)
            progress.epoch = epoch
            score = self.score(record)
            if score > progress.best_score:
                progress.best_score, progress.epochs_since_best = score, 0
                self._save_best()
            else:
                progress.epochs_since_best += 1
            self._save_last()
            self.run.write_history(progress.history, plot=False)
            if self.context.is_main:
                self.reporter.emit("epoch", **record, epochs=self.epochs)
            if self.options.patience is not None and progress.epochs_since_best >= self.options.patience:
                self.reporter.info(f"early stopping after epoch {epoch}: no improvement for {self.options.patience} epochs")
                break
        self.run.write_history(progress.history)
        return progress

    def _train_epoch(self, epoch: int) -> float:
        self.network.train()
        set_epoch(self.loader, epoch)
        total, count = 0.0, 0
        batches = len(self.loader)
        for index, batch in enumerate(self.loader, start=1):
            with torch.autocast("cuda", dtype=torch.float16) if self.amp else contextlib.nullcontext():
                loss = self.loss(batch)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            value = loss.item()
            if not math.isfinite(value):
                raise Diverged(value)
            total, count = total + value, count + 1
            if self.context.is_main:
                self.reporter.progress(self.stage, index, batches, epoch=epoch, epochs=self.epochs, loss=round(value, 5))
            else:
                self.reporter.check_cancel()
        return total / max(count, 1)

    def _config(self) -> dict:
        return {**self.config, "history": self.progress.history, "progress": self.progress.to_config()}

    def _save_best(self) -> None:
        self.run.save(self.run.best, self.segmentation_state(), self._config())

    def _save_last(self) -> None:
        self.run.save(self.run.last, self.module.state_dict(), self._config(), optimizer=self.optimizer.state_dict(),
                      scheduler=self.scheduler.state_dict(), epoch=self.progress.epoch)
        self.run.write_config(self._config())


class SegmentationTrainer(EpochTrainer):
    """Cross-entropy on masks (ignore 255, optional label smoothing and class weights); mIoU on
    the validation tiles after every epoch picks the best model (the lowest loss without them)."""

    def __init__(self, model: nn.Module, train_data, val_data, num_classes: int, *args,
                 weights: Optional[torch.Tensor] = None, ignore_index: int = 255, **kwargs) -> None:
        super().__init__(model, train_data, *args, **kwargs)
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.weights = None if weights is None else weights.to(self.device)
        self.val_loader = (make_loader(val_data, self.options.batch_size, shuffle=False, seed=self.options.seed)
                           if val_data is not None and len(val_data) else None)
        self.labelled_in_epoch = 0

    def loss(self, batch) -> torch.Tensor:
        images, masks = (t.to(self.device, non_blocking=True) for t in batch)
        logits = self.network(images)
        labelled = int((masks != self.ignore_index).sum())
        self.labelled_in_epoch += labelled
        if not labelled:
            return logits.sum() * 0.0  # cross-entropy of no pixels is NaN
        return segmentation_loss(self.options.loss, logits.float(), masks, self.weights, self.ignore_index,
                                 self.options.label_smoothing)

    def check_epoch(self, epoch: int) -> None:
        labelled, self.labelled_in_epoch = self.labelled_in_epoch, 0
        cropped = getattr(self.loader.dataset, "crop", None) is not None  # a random crop may miss sparse labels
        if not labelled and not cropped and not self.context.enabled:
            raise UserError("the train tiles' masks have no labelled pixel (all 255): nothing to learn from; "
                            "check the dataset's labels and the tiles chosen with --max-tiles/--tiles-with")

    def validate(self) -> dict[str, Any]:
        if self.val_loader is None:
            return {}
        cm = predict_confusion(self.module, self.val_loader, self.num_classes, self.device, self.ignore_index)
        value = miou(cm)
        return {"val_miou": None if math.isnan(value) else value}

    def score(self, record: dict) -> float:
        return record["val_miou"] if record.get("val_miou") is not None else -record["loss"]


class SimCLRTrainer(EpochTrainer):
    """NT-Xent between two ``SimCLRAugment`` views of each image. ``model.pt`` holds the
    segmentation model of ``config`` with the trained encoder."""

    stage = "simclr"

    def __init__(self, model: SimCLRModel, train_data, *args, **kwargs) -> None:
        super().__init__(model, train_data, *args, drop_last=True, **kwargs)
        self.augment = SimCLRAugment()

    def loss(self, batch) -> torch.Tensor:
        images = batch[0].to(self.device, non_blocking=True)
        # Both views in one forward pass: DistributedDataParallel allows one per backward.
        z1, z2 = self.network(torch.cat([self.augment(images), self.augment(images)])).float().chunk(2)
        return nt_xent_loss(z1, z2, self.options.temperature)

    def segmentation_state(self) -> dict[str, torch.Tensor]:
        segmentation = build_model(self.config)
        transfer_weights(segmentation, self.module.state_dict(), ["encoder"])
        return segmentation.state_dict()
