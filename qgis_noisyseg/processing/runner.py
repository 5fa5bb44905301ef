"""Run one ``noisyseg`` command for a Processing algorithm and translate its JSON lines.

The same subprocess as the plugin's BackendTask (never torch in QGIS's process), but reporting
to a QgsProcessingFeedback: progress, info and warnings as they come, Cancel as SIGTERM (the
backend stops cleanly and exits 130), a failure as a QgsProcessingException with the backend's
one-line message.
"""

from __future__ import annotations

import json
import queue
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from typing import Optional

from qgis.core import QgsProcessingException, QgsProcessingFeedback
from qgis.PyQt.QtCore import QCoreApplication

from ..cli import EXIT_CANCELLED, EXIT_USER_ERROR
from ..gui.backend import backend_command, backend_environment

POLL_INTERVAL_S = 0.1
CANCEL_GRACE_S = 60.0  # after SIGTERM, time to stop at the next batch before a hard kill
STDERR_TAIL_LINES = 20


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySeg", text)


def run_backend(args: list[str], feedback: Optional[QgsProcessingFeedback]) -> dict:
    """Runs ``noisyseg ARGS --json`` and returns its ``outputs``; raises QgsProcessingException
    when it fails or is cancelled."""
    feedback = feedback or QgsProcessingFeedback()
    try:
        command = backend_command(args)
    except RuntimeError as exc:
        raise QgsProcessingException(str(exc)) from exc
    feedback.pushCommandInfo(" ".join(shlex.quote(part) for part in command))
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   encoding="utf-8", errors="replace", env=backend_environment())
    except OSError as exc:
        raise QgsProcessingException(tr("Could not start the backend ({})").format(exc)) from exc

    stdout_lines: queue.Queue = queue.Queue()
    stderr_tail: deque = deque(maxlen=STDERR_TAIL_LINES)
    readers = [threading.Thread(target=_read_lines, args=(process.stdout, stdout_lines.put), daemon=True),
               threading.Thread(target=_read_lines, args=(process.stderr, stderr_tail.append), daemon=True)]
    for reader in readers:
        reader.start()
    events = _EventHandler(feedback)
    terminated_at = None
    while readers[0].is_alive() or not stdout_lines.empty():
        try:
            events.handle(stdout_lines.get(timeout=POLL_INTERVAL_S))
        except queue.Empty:
            pass
        if feedback.isCanceled() and process.poll() is None:
            if terminated_at is None:
                feedback.pushInfo(tr("Cancelling: the backend stops at its next step"))
                process.send_signal(signal.SIGTERM)
                terminated_at = time.monotonic()
            elif time.monotonic() - terminated_at > CANCEL_GRACE_S:
                process.kill()
    returncode = process.wait()
    readers[1].join()
    if returncode == 0:
        return events.outputs or {}
    raise QgsProcessingException(_failure_message(returncode, events.error, list(stderr_tail), feedback))


def _read_lines(stream, put) -> None:
    for line in stream:
        put(line.rstrip("\n"))
    stream.close()


def _failure_message(returncode: int, error: Optional[str], stderr_tail: list[str],
                     feedback: QgsProcessingFeedback) -> str:
    """The backend's one line for a user error or a cancel; for a crash, its error event (the
    traceback goes to the log)."""
    lines = [line for line in stderr_tail if line.strip()]
    if returncode < 0:
        return tr("The backend was killed by signal {} (out of memory?)").format(-returncode)
    if returncode in (EXIT_USER_ERROR, EXIT_CANCELLED) and lines:
        return lines[-1]
    if lines:
        feedback.reportError("\n".join(lines), False)
    return error or (lines[-1] if lines else tr("The backend exited with code {}").format(returncode))


class _EventHandler:
    """Reports the backend's JSON lines to the feedback; keeps the outputs and the last error."""

    def __init__(self, feedback: QgsProcessingFeedback) -> None:
        self.feedback = feedback
        self.outputs: Optional[dict] = None
        self.error: Optional[str] = None
        self._stage: Optional[str] = None

    def handle(self, line: str) -> None:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if line.strip():
                self.feedback.pushConsoleInfo(line)
            return
        if not isinstance(record, dict):
            return
        event = record.get("event")
        if event == "progress":
            if record.get("stage") != self._stage:
                self._stage = record.get("stage")
                self.feedback.setProgressText(str(self._stage))
            if record.get("total"):
                self.feedback.setProgress(100.0 * record.get("done", 0) / record["total"])
        elif event == "info":
            self.feedback.pushInfo(str(record.get("message", "")))
        elif event == "warning":
            self.feedback.pushWarning(str(record.get("message", "")))
        elif event == "error":
            self.error = str(record.get("message", ""))
        elif event == "done":
            self.outputs = record.get("outputs") or {}
