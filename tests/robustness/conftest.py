"""Hostile and broken inputs, as a new user's files and machine produce them.

Each test module holds a table: one row per case, each row run by one test function. The
fixtures here build small real inputs once per session (a copy of the Denmark scene, a dataset
exported from it, a model trained on it for one epoch and its ONNX export), and every row works
on its own copies under ``tmp_path``, so that a row can check that every file around it is
byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DENMARK, OLD_MAP, REPO, CliResult
from tests.torch_threads import single_thread  # noqa: F401  (autouse)

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


def export_args(scene: Path, out: Path, *extra) -> list:
    return ["export", "--image", scene / "RGB_small.tif", "--labels", scene / OLD_MAP, "--field", "AfgKode",
            "--classes", scene / "classes.json", "--tile", "64", "--out", out, *extra]


def tiny_training_args(data: Path, out: Path, *extra) -> list:
    return ["pretrain", "--data", data, "--out", out, "--epochs", "1", "--base-width", "8", "--batch-size", "8",
            "--device", "cpu", *extra]


@pytest.fixture(scope="session")
def pristine(tmp_path_factory):
    """Session-wide inputs, never handed to a row directly: the scene, a dataset, a one-epoch
    run and its ONNX model."""
    from qgis_noisyseg.cli import main

    root = tmp_path_factory.mktemp("pristine")
    scene = copy_scene(root / "scene")
    assert main([str(a) for a in export_args(scene, root / "dataset")]) == 0
    assert main([str(a) for a in tiny_training_args(root / "dataset", root / "run")]) == 0
    assert main(["export-onnx", "--model", str(root / "run" / "model.pt"), "--out", str(root / "model.onnx")]) == 0
    return root


@pytest.fixture
def inputs(pristine, tmp_path) -> Path:
    """A fresh copy of the pristine inputs under ``tmp_path/work``."""
    work = tmp_path / "work"
    shutil.copytree(pristine, work)
    return work


def run_process(*args, cwd=REPO, env=None, timeout: float = 300) -> CliResult:
    done = subprocess.run([sys.executable, "-m", "qgis_noisyseg", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)
    return CliResult(done.returncode, done.stdout, done.stderr)
