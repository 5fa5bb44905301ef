"""Run ``noisyseg`` in the backend environment as a subprocess, under a QgsTask.

A thin adapter over :class:`bridge.process.BackendProcess`: the backend's own Python (a venv
with torch) is never imported into QGIS. Training or an out-of-memory can therefore crash only
the subprocess; QGIS stays up, the UI stays live, and Cancel asks the backend (a line on its
stdin, on every OS) to stop cleanly at the next batch, with a kill after a grace period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..bridge import process as bridge
from ..bridge.environment import SETTINGS_KEY, find_backend_python  # noqa: F401 - the settings' names
from ..bridge.process import BackendError, BackendProcess, backend_environment  # noqa: F401

PLUGIN_DIR = Path(__file__).resolve().parents[1]


def backend_command(args: list[str], python: Optional[str] = None) -> list[str]:
    return bridge.backend_command(args, python or find_backend_python())


class BackendTask(QgsTask):
    """Runs one backend command. ``backend_event`` is emitted for every JSON line (from the worker
    thread; Qt queues it to receivers in the main thread)."""

    backend_event = pyqtSignal(dict)

    def __init__(self, description: str, args: list[str], python: Optional[str] = None,
                 on_finished: Optional[Callable[["BackendTask"], None]] = None) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.command = backend_command(args, python)
        self.process = BackendProcess(args, command=self.command, on_event=self._event,
                                      is_cancelled=self.isCanceled)
        self.outputs: Optional[dict] = None
        self.error: Optional[str] = None
        self.returncode: Optional[int] = None
        self.stderr_tail: list[str] = []
        self._on_finished = on_finished

    def run(self) -> bool:
        try:
            self.returncode = self.process.run()
        except BackendError as exc:
            self.error = str(exc)
            return False
        finally:
            self.stderr_tail = list(self.process.stderr_tail)
        self.outputs = self.process.outputs
        if self.process.ok:
            return True
        self.error = "cancelled" if self.process.cancelled else self.process.failure_message()
        return False

    def _event(self, event) -> None:
        if event.fraction is not None:
            self.setProgress(100.0 * event.fraction)
        self.backend_event.emit(event.record)

    def cancel(self) -> None:
        self.process.cancel()
        super().cancel()

    def set_on_finished(self, on_finished: Optional[Callable[["BackendTask"], None]]) -> None:
        self._on_finished = on_finished

    def finished(self, result: bool) -> None:
        if self._on_finished is not None:
            self._on_finished(self)
