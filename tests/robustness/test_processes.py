"""Real processes (issue 11's last two items): two commands writing one ``--out`` at once, and a
command killed with SIGKILL in the middle of its work.

- Two processes on one ``--out``: exactly one wins (exit 0, a complete output); the other exits 2
  with one line (the output is locked, or exists by the time it looks); nothing else is lost.
- SIGKILL during export, pretrain and predict: the kill lands while a temporary output is on
  disk (checked), the rerun succeeds, and leaves no temporary, lock or partial output behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rasterio

from tests.conftest import REPO
from tests.robustness.conftest import export_args, run_process, snapshot, tiny_training_args

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
LOSER = ("another noisyseg command is writing", "already exists", "appeared while this command started",
         "changed while this command ran")


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qgis_noisyseg", *map(str, args), "--json"], cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def leftovers(folder: Path) -> list[str]:
    """Temporaries, locks and set-aside folders anywhere under ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if ".tmp-" in p.name or p.name.endswith(".noisyseg-lock") or ".noisyseg-replaced-" in p.name)


def race(a: list, b: list) -> list[tuple[int, str]]:
    """Both commands started together; their (exit code, stderr)."""
    first, second = start(*a), start(*b)
    results = []
    for process in (first, second):
        _, err = process.communicate(timeout=600)
        results.append((process.returncode, err))
    return results


def check_one_wins(results) -> None:
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    lines = [line for line in loser.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in loser, loser
    assert any(fragment in lines[0] for fragment in LOSER), lines[0]


def dataset_is_complete(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tiles"]
    for tile in manifest["tiles"]:
        assert (folder / tile["image"]).is_file() and (folder / tile["mask"]).is_file()
    assert sorted(p.name for p in folder.iterdir()) == [".noisyseg-output.json", "classes.json", "images",
                                                          "manifest.json", "masks"]


@pytest.mark.parametrize("round_", range(3))
def test_two_exports_on_one_out_one_wins(inputs: Path, round_: int):
    out = inputs / "shared_ds"
    user_file = inputs / "notes.txt"
    user_file.write_text("mine\n")
    check_one_wins(race(export_args(inputs / "scene", out), export_args(inputs / "scene", out, "--seed", "1")))
    dataset_is_complete(out)
    assert user_file.read_text() == "mine\n"
    assert not leftovers(inputs)


def test_two_predictions_on_one_out_one_wins(inputs: Path):
    argv = ["predict", "--model", inputs / "model.onnx", "--image", inputs / "scene" / "RGB_small.tif", "--out",
            inputs / "p.tif", "--threads", "1"]
    check_one_wins(race(argv, argv))
    with rasterio.open(inputs / "p.tif") as src:
        assert src.tags()["NOISYSEG_OUTPUT"] and src.read(1).shape == (413, 452)
    assert (inputs / "p.qml").is_file()
    assert not leftovers(inputs)


def test_two_trainings_on_one_out_one_wins(inputs: Path):
    out = inputs / "shared_run"
    check_one_wins(race(tiny_training_args(inputs / "dataset", out), tiny_training_args(inputs / "dataset", out)))
    assert (out / "model.pt").is_file() and (out / "config.json").is_file()
    assert not leftovers(inputs)


def test_two_overwrites_of_one_dataset_never_lose_it(inputs: Path):
    """With --overwrite both may succeed one after the other, or one is refused; either way the
    dataset is complete afterwards and nothing is left beside it."""
    results = race(export_args(inputs / "scene", inputs / "dataset", "--overwrite"),
                   export_args(inputs / "scene", inputs / "dataset", "--overwrite", "--seed", "1"))
    assert all(code in (0, 2) for code, _ in results) and any(code == 0 for code, _ in results), results
    for code, err in results:
        if code == 2:
            assert len(err.strip().splitlines()) == 1 and any(f in err for f in LOSER), err
    dataset_is_complete(inputs / "dataset")
    assert not leftovers(inputs)


def kill_at(process: subprocess.Popen, ready, timeout: float = 300) -> dict:
    """Reads ``process``'s JSON events until ``ready(event)``, then SIGKILLs it; the event."""
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        event = json.loads(line) if line.startswith("{") else {}
        if ready(event):
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            return event
        assert time.monotonic() < deadline, "the command never reached the point to kill it at"
    pytest.fail(f"the command ended before it could be killed: {process.wait()} {process.stderr.read()[-2000:]}")


def progress(stage: str, at_least: int = 1):
    return lambda event: event.get("event") == "progress" and event.get("stage") == stage and event["done"] >= at_least


def test_sigkill_during_export_then_rerun(inputs: Path):
    out = inputs / "killed_ds"
    before = snapshot(inputs)
    kill_at(start(*export_args(inputs / "scene", out)), progress("export"))
    assert leftovers(inputs), "killed too late: no temporary was on disk"
    assert not out.exists()
    rerun = run_process(*export_args(inputs / "scene", out), env=ENV)
    assert rerun.code == 0, rerun.err
    dataset_is_complete(out)
    assert not leftovers(inputs)
    after = snapshot(inputs)
    assert {k: v for k, v in after.items() if not k.startswith("killed_ds")} == before


def test_sigkill_during_predict_then_rerun(inputs: Path):
    argv = ["predict", "--model", inputs / "model.onnx", "--image", inputs / "scene" / "RGB_small.tif", "--out",
            inputs / "p.tif", "--confidence", inputs / "c.tif", "--tile", "64", "--overlap", "32", "--batch-size", "1",
            "--threads", "1"]
    kill_at(start(*argv), progress("predict"))
    assert leftovers(inputs), "killed too late: no temporary was on disk"
    assert not (inputs / "p.tif").exists() and not (inputs / "c.tif").exists()
    rerun = run_process(*argv, env=ENV)
    assert rerun.code == 0, rerun.err
    assert not leftovers(inputs)
    with rasterio.open(inputs / "p.tif") as src:
        assert src.read(1).shape == (413, 452)


def test_sigkill_during_pretrain_then_resume(inputs: Path):
    """Killed after its first epoch (last.pt written, mid-way through the second): the run folder
    is unfinished but resumable; the rerun with --resume completes it."""
    out = inputs / "killed_run"
    argv = tiny_training_args(inputs / "dataset", out, "--epochs", "3")
    kill_at(start(*argv), lambda e: e.get("event") == "progress" and e.get("epoch") == 2)
    assert (out / "last.pt").is_file()
    assert not (out / "model.pt").exists() or json.loads((out / ".noisyseg-output.json").read_text())["complete"] is False
    rerun = run_process(*argv, "--resume", env=ENV)
    assert rerun.code == 0, rerun.err
    config = json.loads((out / "config.json").read_text())
    assert [h["epoch"] for h in config["history"]] == [1, 2, 3]
    assert json.loads((out / ".noisyseg-output.json").read_text())["complete"] is True
    assert not leftovers(inputs)


def test_sigkill_during_pretrain_before_a_checkpoint_then_rerun(inputs: Path):
    """Killed before anything resumable: the rerun, without --resume, removes the unfinished
    folder and trains afresh."""
    out = inputs / "killed_early"
    argv = tiny_training_args(inputs / "dataset", out, "--epochs", "2")
    kill_at(start(*argv), lambda e: e.get("event") == "info" and "training on" in e.get("message", ""))
    assert out.is_dir() and not (out / "last.pt").exists()
    rerun = run_process(*argv, env=ENV)
    assert rerun.code == 0, rerun.err
    assert (out / "model.pt").is_file()
    assert not leftovers(inputs)
