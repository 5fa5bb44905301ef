"""A training run's output folder: checkpoints, config, history, learning curves, command."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..core.atomic import atomic_file, write_json
from ..core.errors import UserError
from .checkpoint import load_checkpoint, save_checkpoint

BEST = "model.pt"
LAST = "last.pt"


class RunFolder:
    """``model.pt`` (best), ``last.pt`` (resumable), ``config.json``, ``history.json``,
    ``curves.png`` and ``command.txt``. With ``writer=False`` (a non-zero distributed rank)
    every write is skipped."""

    def __init__(self, path: str | Path, writer: bool = True) -> None:
        self.path = Path(path)
        self.writer = writer

    @property
    def best(self) -> Path:
        return self.path / BEST

    @property
    def last(self) -> Path:
        return self.path / LAST

    def prepare(self, overwrite: bool, resume: bool) -> Optional[dict]:
        """Checks and creates the folder; with ``resume``, returns the ``last.pt`` checkpoint."""
        if resume:
            if not self.last.is_file():
                raise UserError(f"cannot resume: {self.last} does not exist")
            return load_checkpoint(self.last)
        if self.writer and self.path.exists() and not overwrite:
            raise UserError(f"{self.path} already exists; pass --overwrite to replace it, --resume to continue it, or choose another --out")
        if self.writer:
            if self.path.exists():
                shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
            self.path.mkdir(parents=True)
        return None

    def write_command(self, command: Sequence[str]) -> None:
        if self.writer:
            with atomic_file(self.path / "command.txt") as tmp:
                tmp.write_text(" ".join(_quote(a) for a in command) + "\n", encoding="utf-8")

    def write_config(self, config: Mapping[str, Any]) -> None:
        if self.writer:
            write_json(self.path / "config.json", config)

    def write_history(self, history: Sequence[Mapping[str, Any]], plot: bool = True) -> None:
        """history.json, and with ``plot`` curves.png (about half a second of matplotlib, so
        the trainer plots when a phase ends or stops, not every epoch)."""
        if self.writer:
            write_json(self.path / "history.json", list(history))
            if plot:
                plot_curves(history, self.path / "curves.png")

    def save(self, path: Path, state_dict, config, **training_state) -> None:
        if self.writer:
            save_checkpoint(path, state_dict, config, **training_state)


def plot_curves(history: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Training loss and validation mIoU per epoch."""
    from ..core.figures import new_figure, save_figure

    figure = new_figure((8, 3.2))
    loss_axes, miou_axes = figure.subplots(1, 2)
    for phase in dict.fromkeys(h.get("phase", "train") for h in history):
        rows = [h for h in history if h.get("phase", "train") == phase]
        loss_axes.plot([h["epoch"] for h in rows], [h["loss"] for h in rows], marker="o", label=f"{phase} loss")
        rows = [h for h in rows if h.get("val_miou") is not None]
        if rows:
            miou_axes.plot([h["epoch"] for h in rows], [h["val_miou"] for h in rows], marker="o", label=phase)
    loss_axes.set(xlabel="epoch", ylabel="training loss")
    miou_axes.set(xlabel="epoch", ylabel="validation mIoU", ylim=(0, 1))
    for axes in (loss_axes, miou_axes):
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
    save_figure(figure, path, dpi=100)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(str(arg))
