"""Cancel on both channels (issue 13): the signal one (SIGINT, SIGTERM: POSIX) and the one that
works on every OS, the line ``cancel`` on stdin that bridge.BackendProcess sends (on Windows
``terminate()`` would kill the backend with no checkpoint). Each stops training at the next
batch, saves ``last.pt``, exits 130, and the run resumes from it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from qgis_noisyseg.backend.checkpoint import load_checkpoint
from qgis_noisyseg.bridge.process import BackendProcess, backend_environment
from qgis_noisyseg.cli import main
from qgis_noisyseg.spec.choices import EVENT_CANCELLED, EVENT_PROGRESS, EXIT_CANCELLED
from tests.conftest import REPO

TINY = ["--base-width", "8", "--batch-size", "4", "--device", "cpu"]


def pretrain_argv(data, out, *extra) -> list[str]:
    return [str(a) for a in ("pretrain", "--data", data, "--out", out, *TINY, *extra)]


def cancel_by_bridge(argv: list[str]) -> tuple[int, list[str]]:
    """BackendProcess runs the command and cancels it (its stdin line) at the first progress event."""
    kinds = []

    def on_event(event):
        kinds.append(event.kind)
        if event.kind == EVENT_PROGRESS:
            process.cancel()

    process = BackendProcess(argv, sys.executable, on_event=on_event,
                             env=backend_environment({**os.environ, "OMP_NUM_THREADS": "1"}))
    code = process.run()
    assert process.cancelled and process.cancel_sent
    assert "cancelled" in process.failure_message()
    return code, kinds


def cancel_by_signal(argv: list[str], signum: int) -> tuple[int, list[str]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("NOISYSEG_CANCEL", None)
    child = subprocess.Popen([sys.executable, "-m", "qgis_noisyseg", *argv, "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    kinds = []
    for line in child.stdout:
        if line.startswith("{"):
            kinds.append(json.loads(line)["event"])
            if kinds[-1] == EVENT_PROGRESS:
                child.send_signal(signum)
                break
    rest, _err = child.communicate(timeout=120)
    kinds += [json.loads(line)["event"] for line in rest.splitlines() if line.startswith("{")]
    return child.returncode, kinds


@pytest.mark.parametrize("channel", ["stdin", "SIGTERM", "SIGINT"])
def test_cancel_saves_last_pt_exits_130_and_the_run_resumes(denmark_2016, tmp_path, channel):
    out = tmp_path / "run"
    argv = pretrain_argv(denmark_2016, out, "--epochs", "50")
    code, kinds = cancel_by_bridge(argv) if channel == "stdin" else cancel_by_signal(argv, getattr(signal, channel))
    assert code == EXIT_CANCELLED
    assert kinds[-1] == EVENT_CANCELLED
    checkpoint = load_checkpoint(out / "last.pt")
    assert checkpoint["epoch"] == 0 and "optimizer" in checkpoint
    assert main(pretrain_argv(denmark_2016, out, "--epochs", "1", "--resume")) == 0
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1]


def test_the_stdin_channel_is_off_unless_asked_for(denmark_2016, tmp_path):
    """Without $NOISYSEG_CANCEL=stdin a ``cancel`` line on stdin is just input: the command runs to its end."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("NOISYSEG_CANCEL", None)
    result = subprocess.run([sys.executable, "-m", "qgis_noisyseg", *pretrain_argv(denmark_2016, tmp_path / "run",
                                                                                  "--epochs", "1"), "--json"],
                            input="cancel\n", capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "model.pt").is_file()
