"""Typed views of what the backend reports: progress events and the results of export, of a
training run and of suggest. The JSON keys are read here, once, rather than by key across the layers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from . import choices as C


@dataclass(frozen=True)
class Event:
    """One JSON line of ``--json``: ``kind`` is one of choices.EVENTS; ``record`` the whole object."""

    kind: str
    record: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, line: str) -> Optional["Event"]:
        """The event on one line of stdout; None for a line that is not a JSON event object."""
        text = line.strip()
        if not text.startswith("{"):
            return None
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(record, dict) or not isinstance(record.get("event"), str):
            return None
        return cls(record["event"], record)

    @property
    def message(self) -> str:
        return str(self.record.get("message") or "")

    @property
    def stage(self) -> Optional[str]:
        stage = self.record.get("stage")
        return None if stage is None else str(stage)

    @property
    def fraction(self) -> Optional[float]:
        """done/total of a progress event, in [0, 1]; None when the total is unknown."""
        total = self.record.get("total")
        if self.kind != C.EVENT_PROGRESS or not total:
            return None
        return min(max(float(self.record.get("done") or 0) / float(total), 0.0), 1.0)

    @property
    def outputs(self) -> dict:
        return dict(self.record.get("outputs") or {}) if self.kind == C.EVENT_DONE else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.record.get(key, default)


@dataclass(frozen=True)
class ExportResult:
    dataset: str
    tiles: int
    splits: dict
    classes: int

    @classmethod
    def from_outputs(cls, outputs: dict) -> "ExportResult":
        splits = {name: int(count) for name, count in (outputs.get("splits") or {}).items()}
        return cls(dataset=str(outputs["dataset"]), tiles=int(outputs["tiles"]), splits=splits,
                   classes=int(outputs.get("classes") or 0))

    @property
    def manifest(self) -> str:
        return str(Path(self.dataset) / "manifest.json")

    def split(self, name: str) -> int:
        return self.splits.get(name, 0)


@dataclass(frozen=True)
class TrainingResult:
    """The outputs of pretrain and finetune: the run's files and its last epoch."""

    model: str
    last: str
    history: str
    epochs: int
    final_loss: Optional[float]
    final_val_miou: Optional[float]
    metrics: dict = field(default_factory=dict)

    @classmethod
    def from_outputs(cls, outputs: dict) -> "TrainingResult":
        known = {"model", "last", "history", "epochs", "final_loss", "final_val_miou"}
        return cls(model=str(outputs["model"]), last=str(outputs["last"]), history=str(outputs["history"]),
                   epochs=int(outputs.get("epochs") or 0), final_loss=_float(outputs.get("final_loss")),
                   final_val_miou=_float(outputs.get("final_val_miou")),
                   metrics={k: v for k, v in outputs.items() if k not in known})

    @property
    def run_folder(self) -> str:
        return str(Path(self.model).parent)

    def to_outputs(self) -> dict:
        return {"model": self.model, "last": self.last, "history": self.history, "epochs": self.epochs,
                "final_loss": self.final_loss, "final_val_miou": self.final_val_miou, **self.metrics}


@dataclass(frozen=True)
class Suggestion:
    """One tile ``suggest`` ranks: its score (higher: correct it first), its mean confidence and
    its disagreement with the noisy mask (None where it has no labelled pixel)."""

    tile_id: str
    split: str
    score: float
    confidence: Optional[float]
    disagreement: Optional[float]


@dataclass(frozen=True)
class SuggestResult:
    """The outputs of suggest: the ``--top`` tiles by score, best first, the ``--out`` file (or
    None) and how many tiles were scored."""

    suggestions: tuple
    file: Optional[str]
    tiles_scored: int

    @classmethod
    def from_outputs(cls, outputs: dict) -> "SuggestResult":
        suggestions = tuple(Suggestion(tile_id=str(s["tile_id"]), split=str(s.get("split") or ""),
                                       score=float(s["score"]), confidence=_float(s.get("confidence")),
                                       disagreement=_float(s.get("disagreement")))
                            for s in outputs.get("suggestions") or [])
        file = outputs.get("file")
        return cls(suggestions=suggestions, file=None if file is None else str(file),
                   tiles_scored=int(outputs.get("tiles_scored") or 0))


def _float(value: Any) -> Optional[float]:
    return None if value is None else float(value)
