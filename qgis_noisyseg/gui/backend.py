"""Run ``noisyseg`` in the backend environment as a subprocess, under a QgsTask.

The backend's own Python (a venv with torch) is never imported into QGIS. Training or an
out-of-memory can therefore crash only the subprocess; QGIS stays up, the UI stays live, and
Cancel sends SIGTERM, which the backend answers by stopping cleanly at the next batch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Callable, Optional

from qgis.core import QgsSettings, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

PLUGIN_DIR = Path(__file__).resolve().parents[1]
SETTINGS_KEY = "qgis_noisyseg/backend_python"


def find_backend_python() -> Optional[str]:
    """The Python that runs the backend: $NOISYSEG_PYTHON, then the plugin setting, then a
    ``.venv`` beside the plugin (a development checkout), then python3 on PATH."""
    candidates = [os.environ.get("NOISYSEG_PYTHON"), QgsSettings().value(SETTINGS_KEY, "", type=str),
                  str(PLUGIN_DIR.parent / ".venv" / "bin" / "python"), shutil.which("python3")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def backend_command(args: list[str], python: Optional[str] = None) -> list[str]:
    python = python or find_backend_python()
    if python is None:
        raise RuntimeError("no Python found for the backend; set it under the plugin's settings")
    return [python, "-m", "qgis_noisyseg", *args, "--json"]


def backend_environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_DIR.parent), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class BackendTask(QgsTask):
    """Runs one backend command. ``backend_event`` is emitted for every JSON line (from the worker
    thread; Qt queues it to receivers in the main thread)."""

    backend_event = pyqtSignal(dict)

    def __init__(self, description: str, args: list[str], python: Optional[str] = None,
                 on_finished: Optional[Callable[["BackendTask"], None]] = None) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.command = backend_command(args, python)
        self.outputs: Optional[dict] = None
        self.error: Optional[str] = None
        self.returncode: Optional[int] = None
        self.stderr_tail: list[str] = []
        self._process: Optional[subprocess.Popen] = None
        self._terminated = False
        self._on_finished = on_finished

    def run(self) -> bool:
        try:
            self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True, encoding="utf-8", env=backend_environment())
        except OSError as exc:
            self.error = f"could not start the backend ({exc})"
            return False
        for line in self._process.stdout:
            self._handle_line(line)
            if self.isCanceled():
                self._terminate()
        stderr = self._process.stderr.read()
        self.returncode = self._process.wait()
        self.stderr_tail = stderr.strip().splitlines()[-20:]
        if self.returncode == 0:
            return True
        if self.error is None:
            if self.returncode < 0:
                self.error = f"the backend was killed by signal {-self.returncode} (out of memory?)"
            else:
                self.error = self.stderr_tail[-1] if self.stderr_tail else f"the backend exited with code {self.returncode}"
        return False

    def _handle_line(self, line: str) -> None:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return
        kind = record.get("event")
        if kind == "progress" and record.get("total"):
            self.setProgress(100.0 * record["done"] / record["total"])
        elif kind == "done":
            self.outputs = record.get("outputs", {})
        elif kind == "error":
            self.error = record.get("message")
        elif kind == "cancelled":
            self.error = "cancelled"
        self.backend_event.emit(record)

    def cancel(self) -> None:
        self._terminate()
        super().cancel()

    def _terminate(self) -> None:
        """One SIGTERM: the backend stops at the next batch and saves its checkpoint. A second
        one would kill it at once (see core.progress.install_signal_handlers)."""
        if self._process is not None and self._process.poll() is None and not self._terminated:
            self._terminated = True
            self._process.send_signal(signal.SIGTERM)

    def set_on_finished(self, on_finished: Optional[Callable[["BackendTask"], None]]) -> None:
        self._on_finished = on_finished

    def finished(self, result: bool) -> None:
        if self._on_finished is not None:
            self._on_finished(self)
