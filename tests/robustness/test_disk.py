"""The disk and the file system (issue 16): a full disk, a read-only folder, permission denied,
an output path that is a folder.

Each ends in exit 2 and one line naming the path and the fix (``core/oserrors.py``), with the
temporary output removed and everything that was there before byte-identical. A full disk is a
5 MB tmpfs, a read-only folder a tmpfs remounted read-only; both need root, as does running a
command as another user (``nobody``) to meet "permission denied", which root never does. Without
root those rows are skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import REPO, CliResult
from tests.core.test_clean import MAIN, standard_polygons, write_annotations
from tests.robustness.conftest import assert_unchanged, snapshot

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534


def assert_refused(result: CliResult, *alternatives: str) -> str:
    """Exit 2, one stderr line holding one of ``alternatives``, no traceback."""
    assert result.code == 2, (result.code, result.err[-2000:])
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    assert any(a in lines[0] for a in alternatives), (alternatives, lines[0])
    return lines[0]


@pytest.fixture
def mount_tmpfs(tmp_path):
    """``mount(name, size, mode)``: a fresh tmpfs under ``tmp_path``, unmounted afterwards."""
    if not ROOT:
        pytest.skip("needs root to mount a small tmpfs (a full or read-only disk)")
    mounted = []

    def mount(name: str = "disk", size: str = "5m", mode: str = "0755") -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode={mode}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(disk: Path, leave: int) -> None:
    """A file that leaves about ``leave`` bytes free on ``disk``."""
    free = shutil.disk_usage(disk).free
    with open(disk / "filler.bin", "wb") as stream:
        stream.write(b"\0" * max(free - leave, 0))
        stream.flush()
        os.fsync(stream.fileno())


def remount_read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, capture_output=True)


def annotations(work: Path) -> None:
    write_annotations(work / "scene" / "clean.gpkg", work / "dataset", {MAIN}, standard_polygons(work / "dataset"))


def scene(w: Path) -> Path:
    return w / "scene" / "RGB_small.tif"


def export(w: Path, out: Path, *extra) -> list:
    return ["export", "--image", scene(w), "--labels", w / "scene" / "marker_small_c31bc47.shp", "--field", "AfgKode",
            "--classes", w / "scene" / "classes.json", "--tile", "64", "--out", out, *extra]


def pretrain(w: Path, out: Path, *extra) -> list:
    return ["pretrain", "--data", w / "dataset", "--out", out, "--epochs", "1", "--base-width", "8", "--device", "cpu",
            *extra]


def finetune(w: Path, out: Path) -> list:
    return ["finetune", "--data", w / "dataset", "--init", w / "run" / "model.pt", "--out", out, "--epochs", "1",
            "--device", "cpu"]


def predict(w: Path, out: Path, *extra) -> list:
    return ["predict", "--model", w / "model.onnx", "--image", scene(w), "--out", out, *extra]


def study(w: Path, out: Path) -> list:
    return ["study", "label-efficiency", "--noisy", w / "dataset", "--clean", w / "dataset", "--test", w / "dataset",
            "--k", "2", "--seeds", "1", "--inits", "scratch", "--epochs", "1", "--base-width", "8", "--device", "cpu",
            "--out", out]


def clean(w: Path, out: Path) -> list:
    gpkg = w / "scene" / "clean.gpkg"
    return ["clean", "--data", w / "dataset", "--labels", f"{gpkg}:clean_labels", "--tiles", f"{gpkg}:tiles", "--out", out]


# -- a full disk --------------------------------------------------------------------------------

FULL = ("no space left", "not enough space")


@dataclass
class DiskCase:
    id: str
    argv: Callable[[Path, Path], list]  # (work, the mounted disk)
    leave: int  # bytes left free on the 5 MB disk
    message: tuple = FULL
    setup: Callable[[Path, Path], object] = lambda work, disk: None  # before the disk is filled


FULL_DISK = [
    DiskCase("export-refused-up-front", lambda w, d: export(w, d / "ds"), 300_000, ("not enough space",)),
    DiskCase("export-force-disk-fills", lambda w, d: export(w, d / "ds", "--force"), 300_000, ("no space left",)),
    DiskCase("export-overwrite-force-keeps-old", lambda w, d: export(w, d / "ds", "--overwrite", "--force"), 100_000,
             ("no space left",), setup=lambda w, d: shutil.copytree(w / "dataset", d / "ds")),
    DiskCase("pretrain", lambda w, d: pretrain(w, d / "run"), 40_000),
    DiskCase("pretrain-overwrite-keeps-old-run", lambda w, d: pretrain(w, d / "run", "--overwrite"), 40_000,
             setup=lambda w, d: shutil.copytree(w / "run", d / "run")),
    DiskCase("finetune", lambda w, d: finetune(w, d / "ft"), 40_000),
    DiskCase("export-onnx", lambda w, d: ["export-onnx", "--model", w / "run" / "model.pt", "--out", d / "m.onnx"],
             40_000),
    DiskCase("predict-refused-up-front", lambda w, d: predict(w, d / "p.tif", "--probabilities", d / "prob.tif"),
             400_000, ("not enough space",)),
    DiskCase("predict-force-disk-fills", lambda w, d: predict(w, d / "p.tif", "--probabilities", d / "prob.tif",
                                                              "--force"), 400_000, ("no space left",)),
    DiskCase("predict-disk-full", lambda w, d: predict(w, d / "p.tif", "--force"), 0),
    DiskCase("evaluate-out", lambda w, d: ["evaluate", "--model", w / "run" / "model.pt", "--data", w / "dataset",
                                           "--device", "cpu", "--out", d / "metrics.json"], 0),
    DiskCase("suggest-out", lambda w, d: ["suggest", "--model", w / "model.onnx", "--data", w / "dataset", "--out",
                                          d / "s.json"], 0),
    DiskCase("corrupt", lambda w, d: ["corrupt", "--data", w / "dataset", "--out", d / "noisier", "--rate", "0.3"],
             40_000),
    DiskCase("analyze", lambda w, d: ["analyze", "--a", w / "run" / "model.pt", "--b", w / "run" / "model.pt", "--data",
                                      w / "dataset", "--out", d / "analysis", "--tiles", "2"], 4_000),
    DiskCase("clean", lambda w, d: clean(w, d / "clean"), 20_000, setup=lambda w, d: annotations(w)),
    DiskCase("study", lambda w, d: study(w, d / "study"), 40_000),
]


@pytest.mark.parametrize("case", FULL_DISK, ids=[c.id for c in FULL_DISK])
def test_a_full_disk_is_one_line_and_leaves_nothing(case: DiskCase, inputs: Path, mount_tmpfs, run_cli):
    disk = mount_tmpfs()
    case.setup(inputs, disk)
    fill(disk, case.leave)
    before, before_disk = snapshot(inputs), snapshot(disk)
    result = run_cli(*case.argv(inputs, disk), "--json")
    assert_refused(result, *case.message)
    assert_unchanged(before_disk, snapshot(disk))
    assert_unchanged(before, snapshot(inputs))


def test_the_space_check_lets_an_export_that_fits_through(inputs: Path, mount_tmpfs, run_cli):
    """Not a refusal of everything: with room to spare the same export succeeds on the small disk."""
    disk = mount_tmpfs()
    result = run_cli(*export(inputs, disk / "ds"))
    assert result.code == 0, result.err
    assert sorted(p.name for p in disk.iterdir()) == ["ds"]


def test_the_space_check_lets_a_prediction_that_fits_through(inputs: Path, mount_tmpfs, run_cli):
    """Class ids and confidence of the scene, about 150 KB estimated, on the empty 5 MB disk; the
    probabilities (7 x 4.4 B/px, about 5.8 MB) would not fit, and are refused up front."""
    disk = mount_tmpfs()
    result = run_cli(*predict(inputs, disk / "p.tif", "--confidence", disk / "c.tif"))
    assert result.code == 0, result.err
    assert sorted(p.name for p in disk.iterdir()) == ["c.qml", "c.tif", "p.qml", "p.tif"]
    refused = run_cli(*predict(inputs, disk / "q.tif", "--probabilities", disk / "prob.tif"), "--json")
    assert_refused(refused, "not enough space for the prediction")
    assert sorted(p.name for p in disk.iterdir()) == ["c.qml", "c.tif", "p.qml", "p.tif"]


# -- a read-only folder -------------------------------------------------------------------------

READ_ONLY = [
    DiskCase("export", lambda w, d: export(w, d / "ds"), 0),
    DiskCase("export-overwrite", lambda w, d: export(w, d / "ds", "--overwrite"), 0,
             setup=lambda w, d: shutil.copytree(w / "dataset", d / "ds")),
    DiskCase("pretrain", lambda w, d: pretrain(w, d / "run"), 0),
    DiskCase("pretrain-resume", lambda w, d: pretrain(w, d / "run", "--resume", "--epochs", "2"), 0,
             setup=lambda w, d: shutil.copytree(w / "run", d / "run")),
    DiskCase("finetune", lambda w, d: finetune(w, d / "ft"), 0),
    DiskCase("evaluate", lambda w, d: ["evaluate", "--model", w / "run" / "model.pt", "--data", w / "dataset",
                                       "--device", "cpu", "--out", d / "metrics.json"], 0),
    DiskCase("export-onnx", lambda w, d: ["export-onnx", "--model", w / "run" / "model.pt", "--out", d / "m.onnx"], 0),
    DiskCase("predict", lambda w, d: predict(w, d / "p.tif"), 0),
    DiskCase("predict-confidence-only", lambda w, d: predict(w, w / "p.tif", "--confidence", d / "c.tif"), 0),
    DiskCase("suggest", lambda w, d: ["suggest", "--model", w / "model.onnx", "--data", w / "dataset", "--out",
                                      d / "s.json"], 0),
    DiskCase("analyze", lambda w, d: ["analyze", "--a", w / "run" / "model.pt", "--b", w / "run" / "model.pt",
                                      "--data", w / "dataset", "--out", d / "analysis", "--tiles", "2"], 0),
    DiskCase("corrupt", lambda w, d: ["corrupt", "--data", w / "dataset", "--out", d / "noisier", "--rate", "0.3"], 0),
    DiskCase("clean", lambda w, d: clean(w, d / "clean"), 0, setup=lambda w, d: annotations(w)),
    DiskCase("study", lambda w, d: study(w, d / "study"), 0),
]


@pytest.mark.parametrize("case", READ_ONLY, ids=[c.id for c in READ_ONLY])
def test_a_read_only_folder_is_refused_up_front(case: DiskCase, inputs: Path, mount_tmpfs, run_cli):
    disk = mount_tmpfs()
    case.setup(inputs, disk)
    remount_read_only(disk)
    before, before_disk = snapshot(inputs), snapshot(disk)
    result = run_cli(*case.argv(inputs, disk), "--json")
    assert_refused(result, "read-only")
    assert_unchanged(before_disk, snapshot(disk))
    assert_unchanged(before, snapshot(inputs))


# -- permission denied (as another user) --------------------------------------------------------


def run_as_nobody(*args, home: Path) -> CliResult:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv to run a command as another user")
    done = subprocess.run([setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, "-m",
                           "qgis_noisyseg", *map(str, args), "--json"], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "HOME": str(home), "OMP_NUM_THREADS": "1"}, timeout=300)
    return CliResult(done.returncode, done.stdout, done.stderr)


def unreadable(path_of: Callable[[Path], Path]) -> Callable[[Path], None]:
    return lambda w: os.chmod(path_of(w), 0)


def locked_folder(w: Path) -> None:
    (w / "locked").mkdir()
    os.chmod(w / "locked", 0o755)  # root's: nobody may not write in it


@dataclass
class DeniedCase:
    id: str
    argv: Callable[[Path], list]
    setup: Callable[[Path], object]
    message: tuple = ("permission denied",)


DENIED = [
    DeniedCase("export-image", lambda w: export(w, w / "out" / "ds"), unreadable(scene)),
    DeniedCase("export-labels-dbf", lambda w: export(w, w / "out" / "ds"),
               unreadable(lambda w: w / "scene" / "marker_small_c31bc47.dbf"), ("permission denied", "cannot be read")),
    DeniedCase("export-classes", lambda w: export(w, w / "out" / "ds"), unreadable(lambda w: w / "scene" / "classes.json")),
    DeniedCase("export-into-locked-folder", lambda w: export(w, w / "locked" / "ds"), locked_folder),
    DeniedCase("predict-image", lambda w: predict(w, w / "out" / "p.tif"), unreadable(scene)),
    DeniedCase("predict-model", lambda w: predict(w, w / "out" / "p.tif"), unreadable(lambda w: w / "model.onnx")),
    DeniedCase("predict-into-locked-folder", lambda w: predict(w, w / "locked" / "p.tif"), locked_folder),
    DeniedCase("evaluate-model", lambda w: ["evaluate", "--model", w / "run" / "model.pt", "--data", w / "dataset",
                                            "--device", "cpu"], unreadable(lambda w: w / "run" / "model.pt")),
    DeniedCase("evaluate-out-in-locked-folder", lambda w: ["evaluate", "--model", w / "run" / "model.pt", "--data",
                                                           w / "dataset", "--device", "cpu", "--out",
                                                           w / "locked" / "m.json"], locked_folder),
    DeniedCase("pretrain-manifest", lambda w: pretrain(w, w / "out" / "run"),
               unreadable(lambda w: w / "dataset" / "manifest.json")),
    DeniedCase("pretrain-a-tile", lambda w: pretrain(w, w / "out" / "run"),
               lambda w: [os.chmod(p, 0) for p in sorted((w / "dataset" / "masks").iterdir())[:1]]),
    DeniedCase("suggest-a-tile", lambda w: ["suggest", "--model", w / "model.onnx", "--data", w / "dataset"],
               lambda w: [os.chmod(p, 0) for p in sorted((w / "dataset" / "images").iterdir())[:1]]),
    DeniedCase("export-onnx-checkpoint", lambda w: ["export-onnx", "--model", w / "run" / "model.pt", "--out",
                                                    w / "out" / "m.onnx"], unreadable(lambda w: w / "run" / "model.pt")),
]


@pytest.mark.parametrize("case", DENIED, ids=[c.id for c in DENIED])
def test_permission_denied_is_one_line(case: DeniedCase, pristine: Path, mount_tmpfs):
    disk = mount_tmpfs("shared", size="64m", mode="1777")
    work = disk / "work"
    shutil.copytree(pristine, work)
    (work / "out").mkdir()
    os.chmod(work / "out", 0o777)
    (work / "home").mkdir()
    os.chmod(work / "home", 0o777)
    case.setup(work)
    before = snapshot(work)
    result = run_as_nobody(*case.argv(work), home=work / "home")
    assert_refused(result, *case.message)
    assert_unchanged(before, snapshot(work))


# -- an output path that is a folder, or under a file ---------------------------------------------

PATHS = [
    DiskCase("evaluate-out-is-a-folder", lambda w, d: ["evaluate", "--model", w / "run" / "model.pt", "--data",
                                                       w / "dataset", "--device", "cpu", "--out", w / "scene"], 0,
             ("is a folder",)),
    DiskCase("predict-out-is-a-folder", lambda w, d: predict(w, w / "run"), 0, ("is a folder",)),
    DiskCase("predict-confidence-is-a-folder", lambda w, d: predict(w, w / "p.tif", "--confidence", w / "run"), 0,
             ("is a folder",)),
    DiskCase("predict-probabilities-is-a-folder", lambda w, d: predict(w, w / "p.tif", "--probabilities", w / "run"),
             0, ("is a folder",)),
    DiskCase("export-out-is-a-file", lambda w, d: export(w, w / "model.onnx", "--overwrite"), 0, ("is a file",)),
    DiskCase("pretrain-out-is-a-file", lambda w, d: pretrain(w, w / "model.onnx"), 0, ("is a file",)),
    DiskCase("export-out-under-a-file", lambda w, d: export(w, w / "model.onnx" / "ds"), 0,
             ("is a file", "not a folder")),
    DiskCase("predict-out-under-a-file", lambda w, d: predict(w, w / "model.onnx" / "p.tif"), 0,
             ("is a file", "not a folder")),
    DiskCase("evaluate-out-under-a-file", lambda w, d: ["evaluate", "--model", w / "run" / "model.pt", "--data",
                                                        w / "dataset", "--device", "cpu", "--out",
                                                        w / "model.onnx" / "m.json"], 0, ("is a file", "not a folder")),
]


@pytest.mark.parametrize("case", PATHS, ids=[c.id for c in PATHS])
def test_an_output_path_of_the_wrong_kind_is_one_line(case: DiskCase, inputs: Path, run_cli):
    before = snapshot(inputs)
    result = run_cli(*case.argv(inputs, inputs), "--json")
    assert_refused(result, *case.message)
    assert_unchanged(before, snapshot(inputs))
