"""The dock panel: one page per step of the operator's workflow, over one backend runner.

Data -> Pretrain -> Annotate clean tiles -> Fine-tune -> Predict and review. Every long job is a
backend subprocess under a QgsTask (see runner.py), so QGIS stays responsive, Cancel works,
and a crash of the backend is a message, not a crash of QGIS.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from qgis.core import Qgis, QgsMessageLog, QgsProject
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import (QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                                 QScrollArea, QToolBox, QVBoxLayout, QWidget)

from .environment import EnvironmentBox
from .runner import BackendRunner, Step
from .state import PanelState, default_work_folder
from .steps import AnnotateStep, DataStep, FinetuneStep, PredictStep, PretrainStep

LOG_LINES = 500
MIN_WIDTH = 420  # the dock's default width: no page scrolls sideways at it (tests/qgis/test_panel_layout.py)


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegPanel", text)


class NoisySegDock(QgsDockWidget):
    def __init__(self, iface, parent: Optional[QWidget] = None) -> None:
        super().__init__(tr("Noisy labels segmentation"), parent)
        self.setObjectName("NoisySegDock")
        self.setMinimumWidth(MIN_WIDTH)
        self.iface = iface
        self.project = QgsProject.instance()
        self.state = PanelState.load(self.project)
        self.runner = BackendRunner(self)
        self.confirm: Callable[[str], bool] = self._ask
        self._on_success: Optional[Callable[[], None]] = None
        self._changes_state = False
        self._event_listeners: list[Callable[[dict], None]] = []
        self._step_description = ""
        self.running_epoch: Optional[tuple[int, int]] = None  # (epoch, epochs) of the training that runs

        body = QWidget()
        layout = QVBoxLayout(body)
        self.environment = EnvironmentBox(self)
        layout.addWidget(self.environment)
        self.toolbox = QToolBox()
        self.toolbox.setObjectName("noisyseg_steps")
        self.data_step = DataStep(self)
        self.pretrain_step = PretrainStep(self)
        self.annotate_step = AnnotateStep(self)
        self.finetune_step = FinetuneStep(self)
        self.predict_step = PredictStep(self)
        self.steps = [self.data_step, self.pretrain_step, self.annotate_step, self.finetune_step, self.predict_step]
        titles = [tr("1. Data"), tr("2. Pretrain"), tr("3. Annotate clean tiles"), tr("4. Fine-tune"),
                  tr("5. Predict and review")]
        for step, title in zip(self.steps, titles):
            self.toolbox.addItem(step, title)
        self.toolbox.currentChanged.connect(lambda _index: self.fit_page())
        layout.addWidget(self.toolbox, 1)
        layout.addLayout(self._progress_row())
        self.status = QLabel()
        self.status.setObjectName("noisyseg_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.log_button = QPushButton(tr("Show the backend log"))
        self.log_button.setCheckable(True)
        self.log = QPlainTextEdit()
        self.log.setObjectName("noisyseg_log")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setVisible(False)
        self.log_button.toggled.connect(self.log.setVisible)
        layout.addWidget(self.log_button)
        layout.addWidget(self.log)
        scroll = QScrollArea()
        scroll.setObjectName("noisyseg_scroll")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        self.scroll = scroll
        self.setWidget(scroll)
        self._step_started_at = time.monotonic()

        self.runner.backend_event.connect(self._on_event)
        self.runner.step_started.connect(self._on_step_started)
        self.runner.finished.connect(self._on_finished)
        self.project.readProject.connect(self.reload_state)
        self.project.cleared.connect(self.reload_state)
        self.project.homePathChanged.connect(self._home_changed)
        self.reload_state()

    # -- state --------------------------------------------------------------------------------
    def reload_state(self, *_args) -> None:
        if self.runner.busy:
            return
        self.state = PanelState.load(self.project)
        self._default_folder = default_work_folder(self.project)
        if not self.state["work_folder"]:
            self.state["work_folder"] = self._default_folder
        for step in self.steps:
            step.restore(self.state)
        self.fit_page()

    def fit_page(self) -> None:
        """The open page is shown whole, and the panel scrolls as one: QToolBox would otherwise
        squeeze the page into the space left and give it a scroll area of its own (a second,
        nested scroll bar, with the Export button below its fold)."""
        page = self.toolbox.currentWidget()
        area = page.parentWidget().parentWidget() if page is not None and page.parentWidget() is not None else None
        if not self.isVisible() or not isinstance(area, QScrollArea):
            return  # measured once shown (showEvent): a hidden widget's sizes mean nothing
        overhead = self.toolbox.height() - area.viewport().height()  # the tab buttons and frames
        width = area.viewport().width()
        layout = page.layout()
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else page.sizeHint().height()
        self.toolbox.setMinimumHeight(max(height, page.minimumSizeHint().height()) + overhead + 2)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.fit_page()

    def _home_changed(self) -> None:
        """Saving a new project moves the work folder beside it, while it is still the default
        and no dataset was exported into it."""
        current = self.data_step.work_folder.filePath()
        if self.state["dataset"] or current != self._default_folder:
            return  # a dataset was exported there, or the operator chose the folder
        self._default_folder = default_work_folder(self.project)
        self.data_step.work_folder.setFilePath(self._default_folder)
        self.state["work_folder"] = self._default_folder

    def save_state(self) -> None:
        for step in self.steps:
            step.store(self.state)
        self.state.save(self.project)

    # -- running the backend -------------------------------------------------------------------
    def run(self, steps: list[Step], on_success: Optional[Callable[[], None]] = None,
            listener: Optional[Callable[[dict], None]] = None, changes_state: bool = True) -> bool:
        """Starts a chain of backend commands; False when one is already running. A chain that
        ``changes_state`` saves the panel's state into the project before and after it."""
        if self.runner.busy:
            self.show_message(tr("Another job is running; wait for it or cancel it first."), Qgis.MessageLevel.Warning)
            return False
        self._changes_state = changes_state
        if changes_state:
            self.save_state()
        self._on_success = on_success
        self._event_listeners = [listener] if listener else []
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText("")
        self._set_busy(True)
        self.runner.run(steps)
        return True

    def cancel(self) -> None:
        if self.runner.busy:
            self.stage.setText(tr("Cancelling… (the backend stops at the next batch and saves its checkpoint)"))
            self.runner.cancel()

    def _on_step_started(self, description: str) -> None:
        self.stage.setText(description)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self._step_started_at = time.monotonic()
        self._step_description = description
        self.log.appendPlainText(f"— {description}")

    def _on_event(self, record: dict) -> None:
        kind = record.get("event")
        if kind == "progress" and record.get("total"):
            fraction, text = overall_progress(record, time.monotonic() - self._step_started_at)
            self.progress.setValue(int(100 * fraction))
            self.progress.setFormat(text)
            if record.get("epoch") and record.get("epochs"):
                self.stage.setText(tr("{step}: epoch {epoch} of {epochs}").format(
                    step=self._step_description, epoch=record["epoch"], epochs=record["epochs"]))
                self.running_epoch = (int(record["epoch"]), int(record["epochs"]))
        elif kind in ("info", "warning"):
            self.log.appendPlainText(("⚠ " if kind == "warning" else "") + str(record.get("message", "")))
        elif kind == "epoch":
            miou = record.get("val_miou")
            self.log.appendPlainText(tr("epoch {epoch}: loss {loss:.4f}{miou}").format(
                epoch=record["epoch"], loss=record["loss"], miou="" if miou is None else f", val mIoU {miou:.3f}"))
        for listener in self._event_listeners:
            listener(record)

    def _on_finished(self, ok: bool, message: str) -> None:
        self.running_epoch = None
        self._set_busy(False)
        self.progress.setFormat("%p%")
        on_success, self._on_success = self._on_success, None
        if ok and not self._changes_state:  # a look at the environment: nothing to report as done
            self.progress.setVisible(False)
            self.stage.setText("")
            if on_success is not None:
                try:
                    on_success()
                except Exception as exc:  # noqa: BLE001 - shown to the operator, QGIS stays up
                    self.show_message(str(exc), Qgis.MessageLevel.Critical)
        elif ok:
            self.progress.setValue(100)
            self.stage.setText(tr("Finished: {}").format(self._step_description) if self._step_description else "")
            if on_success is not None:
                try:
                    on_success()
                except Exception as exc:  # noqa: BLE001 - shown to the operator, QGIS stays up
                    self.show_message(str(exc), Qgis.MessageLevel.Critical)
        elif message == "cancelled":
            self.stage.setText(tr("Cancelled"))
            self.show_message(tr("Cancelled. Finished outputs and checkpoints are kept."), Qgis.MessageLevel.Info)
        else:
            self.stage.setText(tr("Failed"))
            self.show_message(message, Qgis.MessageLevel.Critical)
        for step in self.steps:
            step.refresh()
        self.fit_page()
        if self._changes_state:
            self.save_state()

    def set_status(self, message: str) -> None:
        """The one-line result of a job or an action, in the panel (and the log)."""
        self.status.setText(message)
        self.status.setProperty("level", int(Qgis.MessageLevel.Success))
        self.log.appendPlainText(message)

    def show_message(self, message: str, level=Qgis.MessageLevel.Info) -> None:
        """In the panel and in QGIS's message bar (and log), so it is seen wherever the operator looks."""
        colour = {Qgis.MessageLevel.Critical: "#b00020", Qgis.MessageLevel.Warning: "#a15c00"}.get(level, "")
        self.status.setText(f'<span style="color:{colour}">{message}</span>' if colour else message)
        self.status.setProperty("level", int(level))
        QgsMessageLog.logMessage(message, "noisyseg", level)
        self.iface.messageBar().pushMessage("noisyseg", message, level, 0 if level == Qgis.MessageLevel.Critical else 8)

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        for step in self.steps:
            step.set_busy(busy)
        self.environment.set_busy(busy)

    def _progress_row(self) -> QVBoxLayout:
        column = QVBoxLayout()
        self.stage = QLabel("")
        self.stage.setObjectName("noisyseg_stage")
        self.stage.setWordWrap(True)
        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("noisyseg_progress")
        self.progress.setVisible(False)  # until a job runs: no "100 %" before anything was done
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setObjectName("noisyseg_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        column.addWidget(self.stage)
        column.addLayout(row)
        return column

    def _ask(self, question: str) -> bool:
        return QMessageBox.question(self, tr("Noisy labels segmentation"), question) == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.save_state()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Called when the plugin unloads: stops a running job and lets go of outside signals."""
        self.runner.detach()
        if self.environment.setup_task is not None:
            self.environment.setup_task.cancel()
        for step in self.steps:
            step.shutdown()
        for signal, slot in ((self.project.readProject, self.reload_state), (self.project.cleared, self.reload_state),
                             (self.project.homePathChanged, self._home_changed)):
            try:
                signal.disconnect(slot)
            except TypeError:
                pass


def overall_progress(record: dict, elapsed_s: float) -> tuple[float, str]:
    """The fraction of the whole step done (across epochs, not within one) and the bar's text with
    the time left, from a backend ``progress`` record."""
    done, total = record["done"], record["total"]
    fraction = done / total
    epochs, epoch = record.get("epochs"), record.get("epoch")
    if epochs and epoch:
        fraction = ((epoch - 1) + fraction) / epochs
    fraction = min(max(fraction, 0.0), 1.0)
    text = "%p%"
    if 0.0 < fraction < 1.0 and elapsed_s > 1.0:
        left = elapsed_s * (1.0 - fraction) / fraction
        text += " · " + tr("about {} left").format(duration(left))
    return fraction, text


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return tr("{} s").format(seconds)
    if seconds < 3600:
        return tr("{} min").format(round(seconds / 60))
    return tr("{:.1f} h").format(seconds / 3600)
