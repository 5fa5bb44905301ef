"""Runs a chain of backend commands for the panel, one BackendTask at a time.

A step's arguments may depend on what an earlier step wrote, so they can be given as a
callable that is asked for them only when the step starts. The chain stops at the first
failure or at Cancel, and reports one message; the backend's own checkpoint and atomic
writes make a stopped chain safe to start again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QObject, pyqtSignal

from .backend import BackendTask

Arguments = Union[list, Callable[[], list]]


@dataclass
class Step:
    description: str
    arguments: Arguments
    on_done: Optional[Callable[[dict], None]] = None


class BackendRunner(QObject):
    """``backend_event`` carries every JSON line of the running step; ``step_started`` its description;
    ``finished`` (ok, message) ends a chain: message is empty on success, "cancelled" after
    Cancel, else the backend's one-line error."""

    backend_event = pyqtSignal(dict)  # not "event": that would hide QObject.event()
    step_started = pyqtSignal(str)
    finished = pyqtSignal(bool, str)

    def __init__(self, parent: Optional[QObject] = None, python: Optional[str] = None) -> None:
        super().__init__(parent)
        self.python = python
        self.task: Optional[BackendTask] = None
        self._steps: list[Step] = []
        self._cancelled = False

    @property
    def busy(self) -> bool:
        return self.task is not None

    def run(self, steps: list[Step]) -> bool:
        """Starts the chain; False (and nothing started) when another chain is running."""
        if self.busy:
            return False
        self._steps = list(steps)
        self._cancelled = False
        self._start_next()
        return True

    def cancel(self) -> None:
        self._cancelled = True
        self._steps = []
        if self.task is not None:
            self.task.cancel()

    def detach(self) -> None:
        """Cancels the chain and stops listening to its task, which may finish after this runner
        is gone (the plugin unloading)."""
        task, self.task = self.task, None
        self.cancel()
        if task is not None:
            task.cancel()
            task.set_on_finished(None)
            task.backend_event.disconnect(self.backend_event)

    def _start_next(self) -> None:
        if not self._steps:
            self.finished.emit(True, "")
            return
        step = self._steps[0]
        try:
            arguments = step.arguments() if callable(step.arguments) else step.arguments
            task = BackendTask(step.description, [str(a) for a in arguments], self.python, on_finished=self._step_finished)
        except Exception as exc:  # noqa: BLE001 - a missing file or backend becomes the chain's message
            self._steps = []
            self.finished.emit(False, str(exc))
            return
        task.backend_event.connect(self.backend_event)
        self.task = task
        self.step_started.emit(step.description)
        QgsApplication.taskManager().addTask(task)

    def _step_finished(self, task: BackendTask) -> None:
        self.task = None
        if task.outputs is None or task.returncode not in (0, None) or self._cancelled:
            self._steps = []
            message = "cancelled" if self._cancelled or task.error == "cancelled" else (
                task.error or f"the backend exited with code {task.returncode}")
            self.finished.emit(False, message)
            return
        step = self._steps.pop(0)
        if step.on_done is not None:
            try:
                step.on_done(task.outputs)
            except Exception as exc:  # noqa: BLE001 - e.g. a layer that QGIS cannot open
                self._steps = []
                self.finished.emit(False, str(exc))
                return
        self._start_next()
