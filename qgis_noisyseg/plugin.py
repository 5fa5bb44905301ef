"""The QGIS plugin object: menu and toolbar actions. Imports only Qt and qgis.*."""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QIcon
try:
    from qgis.PyQt.QtGui import QAction  # Qt6 (QGIS 4)
except ImportError:
    from qgis.PyQt.QtWidgets import QAction  # Qt5 (QGIS 3)

from .translation import install_translator, remove_translator

PLUGIN_DIR = Path(__file__).resolve().parent


class NoisySegPlugin:
    def __init__(self, iface) -> None:
        self.iface = iface
        self.translator = install_translator()  # before the first tr()
        self.actions: list[QAction] = []
        self.menu = self.tr("&Noisy labels segmentation")
        self._tasks = []
        self.provider = None
        self.dock = None

    @staticmethod
    def tr(text: str) -> str:
        return QCoreApplication.translate("NoisySegPlugin", text)

    def initProcessing(self) -> None:  # noqa: N802 (QGIS's name; qgis_process calls only this)
        if self.provider is None:
            from .processing import NoisySegProvider

            self.provider = NoisySegProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802 (QGIS's name)
        self.initProcessing()
        panel = QAction(QIcon(str(PLUGIN_DIR / "icon.png")), self.tr("Noisy labels segmentation panel"),
                        self.iface.mainWindow())
        panel.setObjectName("noisyseg_open_panel")
        panel.setCheckable(True)
        panel.triggered.connect(self.show_panel)
        self.iface.addPluginToMenu(self.menu, panel)
        self.iface.addToolBarIcon(panel)
        self.actions.append(panel)
        check = QAction(QIcon(str(PLUGIN_DIR / "icon.png")), self.tr("Check backend environment"), self.iface.mainWindow())
        check.setObjectName("noisyseg_check_environment")
        check.triggered.connect(self.check_environment)
        self.iface.addPluginToMenu(self.menu, check)
        self.actions.append(check)

    def unload(self) -> None:
        if self.dock is not None:
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        for action in self.actions:
            self.iface.removePluginMenu(self.menu, action)
            self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions.clear()
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        remove_translator(self.translator)
        self.translator = None

    def show_panel(self, visible: bool = True):
        """Opens (creating it the first time) or hides the dock; returns it."""
        if self.dock is None:
            from .gui.panel import NoisySegDock

            self.dock = NoisySegDock(self.iface, self.iface.mainWindow())
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
            self.dock.visibilityChanged.connect(self.actions[0].setChecked)
            self.dock.environment.check()  # so the device is shown before anything starts
        self.dock.setVisible(visible)
        self.actions[0].setChecked(visible)
        if visible:
            self.dock.raise_()
        return self.dock

    def check_environment(self) -> None:
        from .gui.backend import BackendTask

        task = BackendTask(self.tr("Checking the noisyseg backend"), ["env"], on_finished=self._show_environment)
        self._tasks.append(task)
        QgsApplication.taskManager().addTask(task)

    def _show_environment(self, task) -> None:
        self._tasks.remove(task)
        bar = self.iface.messageBar()
        if task.outputs is None:
            bar.pushMessage("noisyseg", self.tr("Backend not usable: {}").format(task.error), Qgis.MessageLevel.Critical, 0)
            return
        o = task.outputs
        device = o.get("gpu") or o.get("device", "cpu").upper()
        bar.pushMessage("noisyseg", self.tr("Backend ready: Python {python}, torch {torch}, device {device}, "
                                            "onnxruntime {ort}, qgis_noisyseg {version}").format(
            python=o.get("python"), torch=o.get("torch"), device=device, ort=o.get("onnxruntime"),
            version=o.get("package_version")), Qgis.MessageLevel.Success, 10)
