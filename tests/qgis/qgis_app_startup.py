"""Runs inside the real QGIS application (``qgis --code``) for tests/qgis/test_qgis_app.py.

It waits for the plugin to load, opens its panel from the plugin's action, waits for the
panel's backend environment check to finish, saves a screenshot of the main window, writes
what it found to $NOISYSEG_SMOKE_OUT/report.json and quits QGIS through File > Exit, so the
plugin is unloaded the way QGIS does it (exit code 75 when that does not end QGIS in 20 s).
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

import qgis.utils
from qgis.core import Qgis, QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QDialog, QDockWidget, QLabel

try:
    from qgis.PyQt.QtGui import QAction  # Qt6 (QGIS 4)
except ImportError:
    from qgis.PyQt.QtWidgets import QAction  # Qt5 (QGIS 3)

OUT = Path(os.environ["NOISYSEG_SMOKE_OUT"])
PLUGIN_TIMEOUT_S = 30
TASKS_TIMEOUT_S = float(os.environ.get("NOISYSEG_SMOKE_TASKS_TIMEOUT_S", "60"))
POLL_MS = 200
EXIT_TIMEOUT_MS = 20_000
EXIT_CODE_STUCK = 75

started = time.monotonic()
report = {"qgis_version": Qgis.QGIS_VERSION, "errors": []}
original_excepthook = sys.excepthook


def record_exception(kind, value, tb):
    report["errors"].append("".join(traceback.format_exception(kind, value, tb)))
    original_excepthook(kind, value, tb)


sys.excepthook = record_exception


def elapsed() -> float:
    return time.monotonic() - started


def main_window():
    return qgis.utils.iface.mainWindow()


def visible_dialogs() -> list:
    return [w.windowTitle() or type(w).__name__ for w in QApplication.topLevelWidgets()
            if isinstance(w, QDialog) and w.isVisible()]


def finish(problem=None):
    report["problem"] = problem
    report["elapsed_s"] = round(elapsed(), 1)
    report["visible_dialogs"] = visible_dialogs()
    report["torch_imported_in_qgis"] = "torch" in sys.modules
    report["project_modified"] = QgsProject.instance().isDirty()
    window = main_window()
    window.repaint()
    QApplication.processEvents()
    screenshot = OUT / "qgis_app.png"
    report["screenshot"] = str(screenshot) if window.grab().save(str(screenshot)) else None
    report["window_size"] = [window.width(), window.height()]
    (OUT / "report.json.tmp").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (OUT / "report.json.tmp").replace(OUT / "report.json")
    # The panel keeps its state in the project, so the untitled project is modified; without this,
    # File > Exit would ask whether to save it.
    QgsProject.instance().setDirty(False)
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.reject()  # an error dialog would block File > Exit
    QTimer.singleShot(0, qgis.utils.iface.actionExit().trigger)
    QTimer.singleShot(EXIT_TIMEOUT_MS, lambda: QgsApplication.exit(EXIT_CODE_STUCK))


def guarded(step):
    def run():
        try:
            step()
        except Exception:  # noqa: BLE001 - reported to the test, then QGIS quits
            finish("startup script failed:\n" + traceback.format_exc())
    return run


def later(step, ms=POLL_MS):
    QTimer.singleShot(ms, guarded(step))


def wait_for_plugin():
    plugin = qgis.utils.plugins.get("qgis_noisyseg")
    if plugin is None:
        if elapsed() > PLUGIN_TIMEOUT_S:
            finish(f"qgis_noisyseg not loaded after {PLUGIN_TIMEOUT_S} s; loaded: {sorted(qgis.utils.plugins)}")
        else:
            later(wait_for_plugin)
        return
    report["plugin_class"] = type(plugin).__name__
    report["plugin_active"] = "qgis_noisyseg" in qgis.utils.active_plugins
    report["actions"] = sorted(a.objectName() for a in main_window().findChildren(QAction)
                               if a.objectName().startswith("noisyseg_"))
    report["processing_provider"] = QgsApplication.processingRegistry().providerById("noisyseg") is not None
    open_panel = main_window().findChild(QAction, "noisyseg_open_panel")
    if open_panel is None:
        finish("no action named noisyseg_open_panel")
        return
    open_panel.trigger()
    wait_for_dock()


def wait_for_dock():
    dock = main_window().findChild(QDockWidget, "NoisySegDock")
    if dock is None or not dock.isVisible():
        if elapsed() > PLUGIN_TIMEOUT_S:
            finish("the NoisySegDock did not become visible")
        else:
            later(wait_for_dock)
        return
    report["dock_visible"] = True
    report["dock_title"] = dock.windowTitle()
    report["dock_area"] = int(main_window().dockWidgetArea(dock))
    report["dock_width"] = dock.width()
    global tasks_started
    tasks_started = elapsed()
    wait_for_tasks()


def wait_for_tasks():
    active = QgsApplication.taskManager().countActiveTasks()
    if active and elapsed() - tasks_started < TASKS_TIMEOUT_S:
        later(wait_for_tasks)
        return
    report["tasks_still_running"] = active
    environment = main_window().findChild(QLabel, "noisyseg_environment")
    report["environment_summary"] = environment.text() if environment is not None else None
    later(finish, 500)  # let the dock repaint with the result before the screenshot


main_window().resize(1600, 1000)
later(wait_for_plugin)
