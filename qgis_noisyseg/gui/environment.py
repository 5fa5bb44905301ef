"""The panel's header: which backend runs the jobs, on which device, and setting it up."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ..spec.commands import EnvOptions, command_argv
from .backend import find_backend_python
from .runner import Step
from .setup_task import EnvironmentSetupTask


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegEnvironment", text)


def describe_device(report: Optional[dict]) -> str:
    if not report:
        return tr("unknown (press Check environment)")
    if report.get("gpu"):
        return tr("GPU: {}").format(report["gpu"])
    return tr("CPU (no GPU found by torch)") if report.get("torch") else tr("none: torch is missing")


class EnvironmentBox(QGroupBox):
    def __init__(self, dock) -> None:
        super().__init__(tr("Backend"))
        self.dock = dock
        self.report: Optional[dict] = None
        self.setup_task: Optional[EnvironmentSetupTask] = None
        layout = QVBoxLayout(self)
        self.summary = QLabel(tr("Not checked yet."))
        self.summary.setObjectName("noisyseg_environment")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        row = QHBoxLayout()
        self.check_button = QPushButton(tr("Check environment"))
        self.check_button.setObjectName("noisyseg_check")
        self.check_button.clicked.connect(self.check)
        self.setup_button = QPushButton(tr("Set up backend…"))
        self.setup_button.setObjectName("noisyseg_setup")
        self.setup_button.setToolTip(tr("Creates a Python environment with PyTorch and onnxruntime for the "
                                        "training jobs (about 1 GB download, once). QGIS's own Python is not changed."))
        self.setup_button.clicked.connect(self._choose_setup_folder)
        row.addWidget(self.check_button)
        row.addWidget(self.setup_button)
        row.addStretch(1)
        layout.addLayout(row)

    def check(self) -> bool:
        python = find_backend_python()
        if python is None:
            self.summary.setText(tr("No Python found for the backend: press Set up backend…"))
            return False
        return self.dock.run([Step(tr("Checking the backend environment"), command_argv(EnvOptions()), self._show)],
                             changes_state=False)

    def _show(self, report: dict) -> None:
        self.report = report
        self.summary.setText(tr("Python {python} · torch {torch} · {device} · onnxruntime {ort} · qgis_noisyseg {version}")
                             .format(python=report.get("python"), torch=report.get("torch") or tr("missing"),
                                     device=describe_device(report), ort=report.get("onnxruntime") or tr("missing"),
                                     version=report.get("package_version")))
        self.dock.pretrain_step.show_device(report)
        self.dock.set_status(tr("Backend ready: {}").format(describe_device(report)))

    def _choose_setup_folder(self) -> None:
        default = Path(QgsApplication.qgisSettingsDirPath()) / "noisyseg-backend"
        folder = QFileDialog.getExistingDirectory(self, tr("Folder for the backend environment"), str(default.parent))
        if folder:
            self.set_up(Path(folder) / "noisyseg-backend")

    def set_up(self, folder: Path, requirements: Optional[Path] = None) -> EnvironmentSetupTask:
        task = EnvironmentSetupTask(folder, requirements)
        task.line.connect(self.dock.log.appendPlainText)
        task.progressChanged.connect(lambda value: self.dock.progress.setValue(int(value)))
        task.taskCompleted.connect(lambda: self._setup_finished(task, True))
        task.taskTerminated.connect(lambda: self._setup_finished(task, False))
        self.setup_task = task
        self.dock.stage.setText(task.description())
        self.dock.progress.setVisible(True)
        self.set_busy(True)
        QgsApplication.taskManager().addTask(task)
        return task

    def _setup_finished(self, task: EnvironmentSetupTask, ok: bool) -> None:
        self.setup_task = None
        self.set_busy(False)
        if ok:
            self.dock.show_message(tr("Backend environment ready in {}").format(task.folder), Qgis.MessageLevel.Success)
            self.check()
        else:
            self.dock.show_message(tr("Setting up the backend failed: {}").format(task.error), Qgis.MessageLevel.Critical)

    def set_busy(self, busy: bool) -> None:
        self.check_button.setEnabled(not busy)
        self.setup_button.setEnabled(not busy)
