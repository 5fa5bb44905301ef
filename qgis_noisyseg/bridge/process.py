"""``BackendProcess``: run one backend command, read its events, cancel it, explain a failure.

- stdout (JSON events) and stderr are each read on a thread, so a chatty backend never blocks
  on a full pipe; both are decoded as UTF-8 with replacement;
- cancel writes ``cancel`` on the backend's stdin (it runs with $NOISYSEG_CANCEL=stdin), which
  works on every OS, where Windows' ``terminate()`` would kill it with no checkpoint; after a
  grace period the process is killed;
- the last lines of stderr are kept, and an exit code plus stderr become one translated line.

Standard library only (translation uses Qt when it is there), so both the panel's QgsTask and
the Processing runner are thin adapters over it, and so is the demo's project step.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Callable, Optional, Sequence

from ..spec.choices import (CANCEL_ENV, CANCEL_LINE, EVENT_CANCELLED, EVENT_DONE, EVENT_ERROR, EXIT_CANCELLED,
                            EXIT_USER_ERROR)
from ..spec.results import Event

POLL_INTERVAL_S = 0.1
CANCEL_GRACE_S = 60.0  # after the cancel line, time to stop at the next batch before a hard kill
STDERR_TAIL_LINES = 20
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tr(text: str) -> str:
    try:
        from qgis.PyQt.QtCore import QCoreApplication
    except ImportError:
        return text
    return QCoreApplication.translate("NoisySeg", text)


class BackendError(RuntimeError):
    """The backend could not be started."""


def backend_environment(base: Optional[dict] = None) -> dict:
    """The environment of the subprocess: this package importable, unbuffered output, and the
    stdin cancel channel switched on."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env[CANCEL_ENV] = "stdin"
    return env


def backend_command(args: Sequence[str], python: Optional[str]) -> list[str]:
    if not python:
        raise BackendError(tr("No Python found for the backend; set it under the plugin's settings"))
    return [python, "-m", "qgis_noisyseg", *[str(a) for a in args], "--json"]


class BackendProcess:
    """One run of ``noisyseg ARGS --json``. ``run`` blocks until the process ends, calling
    ``on_event`` with each :class:`Event` (and ``on_text`` with any other stdout line) from the
    calling thread, and polling ``is_cancelled``; it returns the exit code."""

    def __init__(self, args: Sequence[str], python: Optional[str] = None, *,
                 on_event: Optional[Callable[[Event], None]] = None, on_text: Optional[Callable[[str], None]] = None,
                 is_cancelled: Callable[[], bool] = lambda: False, env: Optional[dict] = None,
                 cancel_grace_s: float = CANCEL_GRACE_S, command: Optional[list[str]] = None,
                 cancel_line: bool = True) -> None:
        """``command`` replaces ``python -m qgis_noisyseg ARGS --json``; ``cancel_line=False``
        (for a program that does not watch its stdin) cancels by terminate(), then kill."""
        self.command = command or backend_command(args, python or sys.executable)
        self.cancel_line = cancel_line
        self.on_event = on_event
        self.on_text = on_text
        self.is_cancelled = is_cancelled
        self.env = env if env is not None else backend_environment()
        self.cancel_grace_s = cancel_grace_s
        self.returncode: Optional[int] = None
        self.outputs: Optional[dict] = None
        self.error: Optional[str] = None  # the backend's own error event
        self.cancelled = False
        self.stderr_tail: deque = deque(maxlen=STDERR_TAIL_LINES)
        self._process: Optional[subprocess.Popen] = None
        self._cancel_requested = threading.Event()
        self._cancel_sent_at: Optional[float] = None
        self.start_error: Optional[str] = None

    # -- running

    def run(self) -> int:
        try:
            self._process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                                             env=self.env)
        except OSError as exc:
            self.start_error = tr("Could not start the backend ({})").format(exc)
            self.returncode = -1
            raise BackendError(self.start_error) from exc
        lines: queue.Queue = queue.Queue()
        readers = [threading.Thread(target=_read_lines, args=(self._process.stdout, lines.put), daemon=True),
                   threading.Thread(target=_read_lines, args=(self._process.stderr, self.stderr_tail.append),
                                    daemon=True)]
        for reader in readers:
            reader.start()
        while readers[0].is_alive() or not lines.empty():
            try:
                self._handle(lines.get(timeout=POLL_INTERVAL_S))
            except queue.Empty:
                pass
            if self.is_cancelled() or self._cancel_requested.is_set():
                self._cancel_step()
        self.returncode = self._process.wait()
        readers[1].join(timeout=5)
        if self.returncode == EXIT_CANCELLED:
            self.cancelled = True
        return self.returncode

    def cancel(self) -> None:
        """Asks the running process to stop (thread-safe; ``run`` sends it)."""
        self._cancel_requested.set()

    def _cancel_step(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        if self._cancel_sent_at is None:
            self._cancel_sent_at = time.monotonic()
            if not self.cancel_line:
                process.terminate()
                return
            try:
                process.stdin.write(CANCEL_LINE + "\n")
                process.stdin.flush()
            except (OSError, ValueError):  # the backend closed its stdin: no clean stop possible
                process.terminate()
        elif time.monotonic() - self._cancel_sent_at > self.cancel_grace_s:
            process.kill()

    def _handle(self, line: str) -> None:
        event = Event.parse(line)
        if event is None:
            if line.strip() and self.on_text is not None:
                self.on_text(line)
            return
        if event.kind == EVENT_DONE:
            self.outputs = event.outputs
        elif event.kind == EVENT_ERROR:
            self.error = event.message
        elif event.kind == EVENT_CANCELLED:
            self.cancelled = True
        if self.on_event is not None:
            self.on_event(event)

    # -- the outcome

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.outputs is not None

    @property
    def cancel_sent(self) -> bool:
        return self._cancel_sent_at is not None

    def failure_message(self) -> str:
        """One translated line: why the run failed. A user error or a cancel is the backend's
        own line; a crash its error event (the traceback is in ``stderr_tail``)."""
        if self.start_error:
            return self.start_error
        lines = [line for line in self.stderr_tail if line.strip()]
        code = self.returncode
        if code is not None and code < 0:
            return tr("The backend was killed by signal {} (out of memory?)").format(-code)
        if code in (EXIT_USER_ERROR, EXIT_CANCELLED) and lines:
            return lines[-1]
        if code == EXIT_CANCELLED or (self.cancelled and not lines):
            return tr("cancelled")
        return self.error or (lines[-1] if lines else tr("The backend exited with code {}").format(code))


def _read_lines(stream, put) -> None:
    try:
        for line in stream:
            put(line.rstrip("\n"))
    finally:
        stream.close()
