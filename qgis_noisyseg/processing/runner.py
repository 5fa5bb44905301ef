"""Run one ``noisyseg`` command for a Processing algorithm and translate its JSON lines.

A thin adapter over :class:`bridge.process.BackendProcess` (the subprocess the panel's
BackendTask runs too; never torch in QGIS's process), reporting to a QgsProcessingFeedback:
progress, info and warnings as they come, Cancel as the backend's cancel line (it stops cleanly
and exits 130; killed after a grace period), a failure as a QgsProcessingException with the
backend's one-line message.
"""

from __future__ import annotations

import shlex
from typing import Optional

from qgis.core import QgsProcessingException, QgsProcessingFeedback
from qgis.PyQt.QtCore import QCoreApplication

from ..bridge.environment import find_backend_python
from ..bridge.process import BackendError, BackendProcess, backend_command
from ..spec.choices import EVENT_ERROR, EVENT_INFO, EVENT_PROGRESS, EVENT_WARNING


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySeg", text)


def run_backend(args: list[str], feedback: Optional[QgsProcessingFeedback]) -> dict:
    """Runs ``noisyseg ARGS --json`` and returns its ``outputs``; raises QgsProcessingException
    when it fails or is cancelled."""
    feedback = feedback or QgsProcessingFeedback()
    try:
        command = backend_command(args, find_backend_python())
    except BackendError as exc:
        raise QgsProcessingException(str(exc)) from exc
    feedback.pushCommandInfo(" ".join(shlex.quote(part) for part in command))
    events = _EventHandler(feedback)
    process = BackendProcess(args, command=command, on_event=events.handle, on_text=feedback.pushConsoleInfo,
                             is_cancelled=events.is_cancelled)
    try:
        process.run()
    except BackendError as exc:
        raise QgsProcessingException(str(exc)) from exc
    if process.ok:
        return process.outputs
    lines = [line for line in process.stderr_tail if line.strip()]
    if process.returncode not in (2, 130) and lines:
        feedback.reportError("\n".join(lines), False)  # the traceback of a crash, for the log
    raise QgsProcessingException(process.failure_message())


class _EventHandler:
    """Reports the backend's events to the feedback."""

    def __init__(self, feedback: QgsProcessingFeedback) -> None:
        self.feedback = feedback
        self._stage: Optional[str] = None
        self._told = False

    def is_cancelled(self) -> bool:
        if self.feedback.isCanceled() and not self._told:
            self._told = True
            self.feedback.pushInfo(tr("Cancelling: the backend stops at its next step"))
        return self.feedback.isCanceled()

    def handle(self, event) -> None:
        if event.kind == EVENT_PROGRESS:
            if event.stage != self._stage:
                self._stage = event.stage
                self.feedback.setProgressText(str(self._stage))
            if event.fraction is not None:
                self.feedback.setProgress(100.0 * event.fraction)
        elif event.kind == EVENT_INFO:
            self.feedback.pushInfo(event.message)
        elif event.kind == EVENT_WARNING:
            self.feedback.pushWarning(event.message)
        elif event.kind == EVENT_ERROR:
            pass  # failure_message() reads it
