"""The panel's settings and run folders, kept in the QGIS project so that reopening it restores them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qgis.core import QgsProject

from ..spec.commands import ExportOptions, FinetuneOptions, PretrainOptions
from ..spec.fields import option_named

SCOPE = "qgis_noisyseg"
KEY = "panel_state"


def _default(spec, dest: str) -> Any:
    return option_named(spec, dest).default


# The panel's settings; those that are a command's option start at the command's default (spec/).
DEFAULTS: dict[str, Any] = {
    "work_folder": "",
    "image_layer": "",
    "label_layers": [],
    "class_field": "",
    "classes": [],
    "tile": _default(ExportOptions, "tile"),
    "unlabeled": _default(ExportOptions, "unlabeled"),
    "nodata": "auto",  # auto | none | a number (--nodata)
    "dataset": "",
    "annotation_package": "",
    "pretrain": {**{dest: _default(PretrainOptions, dest) for dest in
                    ("method", "encoder", "decoder", "epochs", "base_width", "class_weights", "encoder_weights")},
                 "encoder_weights_file": ""},
    "pretrain_runs": [],  # [{"path", "method", "complete"}], newest last
    "selected_pretrain_run": "",
    "finetune": {**{dest: _default(FinetuneOptions, dest) for dest in ("transfer", "freeze", "epochs", "class_weights")},
                 "decoder": "", "scratch": True},
    "clean_dataset": "",
    "finetune_runs": [],  # [{"path", "init", "complete", "metrics": {"fine-tuned": .., "pretrained": .., "scratch": ..}}]
    "predictions": [],  # [{"classes", "confidence", "disagreement", "model"}]
    "opacity": 80,
}


class PanelState(dict):
    """A dict of the keys in DEFAULTS. ``save`` writes it into the project (which marks the project
    dirty, so QGIS asks to save it); ``load`` reads it back, keeping defaults for missing keys."""

    def __init__(self, **values: Any) -> None:
        super().__init__(json.loads(json.dumps(DEFAULTS)))
        self.update(values)

    @classmethod
    def load(cls, project: QgsProject) -> "PanelState":
        text, found = project.readEntry(SCOPE, KEY, "")
        if not found or not text:
            return cls()
        try:
            stored = json.loads(text)
        except json.JSONDecodeError:
            return cls()
        state = cls()
        for key, value in stored.items():
            if key in DEFAULTS:
                state[key] = {**DEFAULTS[key], **value} if isinstance(DEFAULTS[key], dict) else value
        return state

    def save(self, project: QgsProject) -> None:
        """Writes only a change, so that looking at the panel does not mark the project modified."""
        text = json.dumps(self, sort_keys=True)
        if project.readEntry(SCOPE, KEY, "")[0] != text:
            project.writeEntry(SCOPE, KEY, text)

    def work_path(self, *parts: str) -> Path:
        return Path(self["work_folder"]).joinpath(*parts)

    def next_run_folder(self, kind: str) -> Path:
        """runs/<kind>-<n>, the first n not used yet, so earlier runs are kept."""
        n = 1
        while self.work_path("runs", f"{kind}-{n}").exists():
            n += 1
        return self.work_path("runs", f"{kind}-{n}")


def default_work_folder(project: QgsProject) -> str:
    home = project.homePath()
    return str(Path(home) / "noisyseg") if home else str(Path.home() / "noisyseg")
