"""What marks a folder or file as noisyseg's own: the marker file, the temporaries' and locks'
names, what each kind of folder holds, and how a folder's kind is recognised. Reads only;
``core.atomic`` writes the marker, ``core.outputs`` decides what may be replaced."""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
from pathlib import Path
from typing import Optional

MARKER = ".noisyseg-output.json"
MARKER_FORMAT = "noisyseg-output"
LOCK_SUFFIX = ".noisyseg-lock"
TMP_INFIX = ".tmp-"

# What noisyseg writes into each kind of folder (top-level names, fnmatch patterns). Anything
# else in such a folder is the operator's, and --overwrite then refuses to replace the folder.
FOLDER_ENTRIES: dict[str, tuple[str, ...]] = {
    "dataset": ("manifest.json", "classes.json", "images", "masks"),
    "run": ("model.pt", "last.pt", "config.json", "history.json", "curves.png", "command.txt", "model.onnx",
            "test_metrics.json", "result.json", "pretrained.json"),
    "analysis": ("layers.json", "layers.png"),
    "study": ("study.json", "datasets", "pretrain", "runs", "results.csv", "report.md", "*.png"),
    "demo": ("inputs", "datasets", "runs", "analysis", "figures", "model.onnx", "prediction.*", "confidence.*",
             "disagreement.*", "report.md", "summary.json", "results.csv", "project_spec.json", "demo.qgz",
             "demo.qgs", "clean_tiles.gpkg", "clean_tiles.gpkg-*", ".noisyseg-demo", "noisy", "full2016",
             "full2016_corrupted"),
}
FOLDER_NOUNS = {"dataset": "a dataset folder", "run": "a training run folder", "analysis": "an analysis folder",
                "study": "a study folder", "demo": "a demo folder"}


def output_marker(kind: str, complete: bool = True) -> dict:
    from .. import __version__

    return {"format": MARKER_FORMAT, "kind": kind, "complete": complete, "package_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def is_unfinished(path: Path) -> bool:
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("complete") is False


def is_temporary(name: str) -> bool:
    return TMP_INFIX in name or name.endswith(LOCK_SUFFIX)


# -- what is ours -------------------------------------------------------------------------------


def folder_kind(path: Path) -> Optional[str]:
    """The kind of noisyseg folder ``path`` is (from its marker, or recognised from an earlier
    version's layout), or None."""
    marker = path / MARKER
    if marker.is_file():
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data.get("kind") if isinstance(data, dict) and data.get("format") == MARKER_FORMAT else None
    if json_format(path / "manifest.json") == "noisyseg-dataset":
        return "dataset"
    if json_format(path / "study.json") == "noisyseg-study":
        return "study"
    if (path / "config.json").is_file() and ((path / "model.pt").is_file() or (path / "last.pt").is_file()):
        return "run"
    if (path / "layers.json").is_file() and (path / "layers.png").is_file():
        return "analysis"
    if (path / ".noisyseg-demo").is_file():
        return "demo"
    return None


def foreign_entries(path: Path, kind: str) -> list[str]:
    """The top-level entries of folder ``path`` that noisyseg does not write into a ``kind`` folder."""
    patterns = FOLDER_ENTRIES[kind]
    return sorted(entry.name for entry in path.iterdir()
                  if entry.name != MARKER and not is_temporary(entry.name)
                  and not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in patterns))


def json_format(path: Path) -> Optional[str]:
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return None
    return data.get("format") if isinstance(data, dict) else None
