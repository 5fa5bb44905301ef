"""Hostile and broken inputs, as a new user's files and machine produce them.

Each test module holds a table: one row per case, each row run by one test function. The
fixtures here build small real inputs once per session (a copy of the Denmark scene, a dataset
exported from it, a model trained on it for one epoch and its ONNX export), and every row works
on its own copies under ``tmp_path``, so that a row can check that every file around it is
byte-identical afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import OLD_MAP, REPO, CliResult
from tests.file_state import assert_one_line_error, assert_unchanged, copy_scene, snapshot  # noqa: F401  (re-exported)
from tests.torch_threads import single_thread  # noqa: F401  (autouse)

@dataclass
class Refused:
    """A row that must end in exit 2 with one line holding ``message``, with nothing changed
    under the work folder; ``setup`` prepares the work folder's inputs first."""

    id: str
    argv: Callable[[Path], list]
    message: str
    setup: Callable[[Path], object] = lambda work: None


def check_refused(case: Refused, work: Path, run_cli) -> None:
    case.setup(work)
    before = snapshot(work)
    assert_one_line_error(run_cli(*case.argv(work), "--json"), case.message)
    assert_unchanged(before, snapshot(work))


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
