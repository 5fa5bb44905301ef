"""What a test needs to say "every file is as it was": snapshots of folders, one-line errors,
and a private copy of the Denmark scene. No torch here: the real-QGIS tests use it too."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from tests.conftest import DENMARK, OLD_MAP, CliResult

SCENE_FILES = ("RGB_small.tif", "classes.json")


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root``: its SHA-256, or 'dir'."""
    state = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_dir() and not path.is_symlink():
            state[rel] = "dir"
        elif path.is_file():
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def assert_unchanged(before: dict[str, str], after: dict[str, str]) -> None:
    """Every file is byte-identical, and nothing is new (no output, temporary or lock)."""
    changed = [p for p, digest in before.items() if after.get(p) != digest]
    added = sorted(set(after) - set(before))
    assert not changed and not added, f"changed or removed: {changed[:5]}, new: {added[:5]}"


def assert_one_line_error(result: CliResult, *fragments: str) -> str:
    assert result.code == 2, (result.code, result.err[-2000:])
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err, result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def copy_scene(folder: Path) -> Path:
    """The Denmark image, class map and old parcel map copied into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SCENE_FILES:
        shutil.copy2(DENMARK / name, folder / name)
    for part in DENMARK.glob(f"{Path(OLD_MAP).stem}.*"):
        shutil.copy2(part, folder / part.name)
    return folder
