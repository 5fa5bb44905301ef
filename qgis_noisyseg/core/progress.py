"""Progress, warnings and cancellation, shared by every long-running command.

With ``json_lines=True`` each event is one JSON object on one line of stdout, which is the
contract the QGIS plugin reads: ``{"event": "progress", "stage": ..., "done": i, "total": n}``,
``{"event": "warning", "message": ...}``, ``{"event": "done", "outputs": {...}}``,
``{"event": "error", "message": ...}``, ``{"event": "cancelled"}``. Otherwise progress goes to
stderr as short human-readable lines.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Optional, TextIO

from .errors import Cancelled


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


class CancelToken:
    """Set from a signal handler or another thread; polled by the work loop between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: Optional[str] = None

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled(self.reason or "cancelled")


class Reporter:
    """Reports progress of one command. Cheap to call often: text output is throttled."""

    def __init__(
        self,
        json_lines: bool = False,
        stream: Optional[TextIO] = None,
        cancel: Optional[CancelToken] = None,
        quiet: bool = False,
        min_interval_s: float = 0.5,
    ) -> None:
        self.json_lines = json_lines
        self.stream = stream
        self.cancel = cancel or CancelToken()
        self.quiet = quiet
        self.min_interval_s = min_interval_s
        self._stage_started: dict[str, float] = {}
        self._last_text = 0.0
        self.warnings: list[str] = []

    def _out(self) -> TextIO:
        if self.stream is not None:
            return self.stream
        return sys.stdout if self.json_lines else sys.stderr

    def emit(self, event: str, **fields: Any) -> None:
        if self.json_lines:
            record = {"event": event}
            record.update({k: _jsonable(v) for k, v in fields.items()})
            out = self._out()
            out.write(json.dumps(record, default=str) + "\n")
            out.flush()

    def progress(self, stage: str, done: int, total: int, **extra: Any) -> None:
        now = time.monotonic()
        started = self._stage_started.setdefault(stage, now)
        elapsed = now - started
        eta = elapsed / done * (total - done) if done > 0 and total >= done else None
        if self.json_lines:
            self.emit("progress", stage=stage, done=done, total=total,
                      elapsed_s=round(elapsed, 2), eta_s=None if eta is None else round(eta, 1), **extra)
        elif not self.quiet and (done >= total or now - self._last_text >= self.min_interval_s):
            self._last_text = now
            details = " ".join(f"{k}={_fmt(v)}" for k, v in extra.items())
            eta_text = f" eta {eta:.0f}s" if eta is not None and done < total else ""
            self._out().write(f"[{stage}] {done}/{total}{eta_text} {details}".rstrip() + "\n")
            self._out().flush()
        self.cancel.raise_if_cancelled()

    def info(self, message: str, **extra: Any) -> None:
        if self.json_lines:
            self.emit("info", message=message, **extra)
        elif not self.quiet:
            self._out().write(message + "\n")
            self._out().flush()

    def warning(self, message: str, **extra: Any) -> None:
        self.warnings.append(message)
        if self.json_lines:
            self.emit("warning", message=message, **extra)
        else:
            sys.stderr.write(f"warning: {message}\n")
            sys.stderr.flush()

    def check_cancel(self) -> None:
        self.cancel.raise_if_cancelled()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def install_signal_handlers(token: CancelToken) -> Callable[[], None]:
    """SIGINT/SIGTERM set the token instead of killing the process, so the work loop can stop
    cleanly at the next batch (saving a checkpoint, removing temporary output). A second signal
    falls through to the default behaviour. Returns a function that restores the old handlers."""
    previous = {}

    def handler(signum, _frame):
        if token.cancelled:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        token.cancel(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            pass

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def watch_stdin(token: CancelToken, stream: Optional[TextIO] = None) -> threading.Thread:
    """The cancel channel that needs no POSIX signal (on Windows ``terminate()`` kills outright,
    with no checkpoint): a thread that reads lines from stdin and sets the token at the line
    ``cancel``. A second ``cancel`` exits at once, as a second signal does. End of input (the
    parent closed the pipe, or nothing was ever attached) only ends the watch."""
    from ..spec.choices import CANCEL_LINE, EXIT_CANCELLED

    stream = stream if stream is not None else sys.stdin

    def watch() -> None:
        try:
            for line in stream:
                if line.strip() != CANCEL_LINE:
                    continue
                if token.cancelled:
                    os._exit(EXIT_CANCELLED)
                token.cancel("cancel requested on stdin")
        except (OSError, ValueError):  # stdin closed under us
            return

    thread = threading.Thread(target=watch, name="noisyseg-cancel-stdin", daemon=True)
    thread.start()
    return thread


def install_cancel_channels(token: CancelToken) -> Callable[[], None]:
    """SIGINT/SIGTERM (see install_signal_handlers) and, when $NOISYSEG_CANCEL is ``stdin`` (the
    QGIS plugin sets it), the line ``cancel`` on stdin. Returns the restore of the signals."""
    from ..spec.choices import CANCEL_ENV

    if os.environ.get(CANCEL_ENV, "").strip().lower() == "stdin" and sys.stdin is not None:
        watch_stdin(token)
    return install_signal_handlers(token)
