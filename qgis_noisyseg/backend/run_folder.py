"""A training run's output folder: checkpoints, config, history, learning curves, command."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..core.atomic import atomic_file, write_json
from ..core.markers import is_temporary
from ..core.outputs import OutputPlan
from .checkpoint import save_checkpoint

BEST = "model.pt"
LAST = "last.pt"


class RunFolder:
    """``model.pt`` (best), ``last.pt`` (resumable), ``config.json``, ``history.json``,
    ``curves.png`` and ``command.txt``. With ``writer=False`` (a non-zero distributed rank)
    every write is skipped.

    ``open(plan)`` takes the folder through ``core.outputs`` (locked, checked, the old run kept
    aside under --overwrite until the new one succeeds), ``commit()`` finishes it, ``abort()``
    undoes it: a failed new run is removed unless it left a resumable ``last.pt``, and a failed
    --overwrite puts the old run back."""

    def __init__(self, path: str | Path, writer: bool = True) -> None:
        self.path = Path(path)
        self.writer = writer
        self._plan: Optional[OutputPlan] = None

    @property
    def best(self) -> Path:
        return self.path / BEST

    @property
    def last(self) -> Path:
        return self.path / LAST

    def plan(self, plan: OutputPlan, option: str = "--out") -> OutputPlan:
        """Declares this folder as ``plan``'s in-place run output."""
        plan.folder(self.path, option, "run", in_place=True, keep=lambda path: (path / LAST).is_file())
        return plan

    def open(self, plan: OutputPlan) -> None:
        if not self.writer:
            return
        plan.begin()
        self._plan = plan
        if plan.resume:
            for entry in self.path.iterdir():  # temporaries of a write that a killed run interrupted
                if is_temporary(entry.name) and entry.is_file():
                    entry.unlink()

    def commit(self) -> None:
        if self._plan is not None:
            self._plan, plan = None, self._plan
            plan.commit()

    def abort(self) -> None:
        if self._plan is not None:
            self._plan, plan = None, self._plan
            plan.abort()

    def write_command(self, command: Sequence[str], resumed: bool = False) -> None:
        """``command.txt``: the command that started the run, then one line per resume."""
        if self.writer:
            path = self.path / "command.txt"
            earlier = path.read_text(encoding="utf-8") if resumed and path.is_file() else ""
            with atomic_file(path) as tmp:
                tmp.write_text(earlier + " ".join(_quote(a) for a in command) + "\n", encoding="utf-8")

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
    """Training loss and validation mIoU per epoch; the loss alone for a run without validation
    tiles (a panel fine-tune: its check tiles are never scored during training)."""
    from ..core.figures import new_figure, save_figure

    validated = any(h.get("val_miou") is not None for h in history)
    figure = new_figure((8, 3.2))
    loss_axes, miou_axes = figure.subplots(1, 2) if validated else (figure.subplots(1, 1), None)
    for phase in dict.fromkeys(h.get("phase", "train") for h in history):
        rows = [h for h in history if h.get("phase", "train") == phase]
        loss_axes.plot([h["epoch"] for h in rows], [h["loss"] for h in rows], marker="o", label=f"{phase} loss")
        rows = [h for h in rows if h.get("val_miou") is not None]
        if rows and miou_axes is not None:
            miou_axes.plot([h["epoch"] for h in rows], [h["val_miou"] for h in rows], marker="o", label=phase)
    loss_axes.set(xlabel="epoch", ylabel="training loss")
    if miou_axes is not None:
        miou_axes.set(xlabel="epoch", ylabel="validation mIoU", ylim=(0, 1))
    else:
        loss_axes.set_title("no validation tiles: model.pt is the epoch of lowest training loss", fontsize=9)
    for axes in (loss_axes, miou_axes):
        if axes is None:
            continue
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
    save_figure(figure, path, dpi=100)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(str(arg))
