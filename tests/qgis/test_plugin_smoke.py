"""The plugin inside real QGIS (pytest-qgis, no display): metadata, classFactory, menu, backend task."""

from __future__ import annotations

import sys
import time

import pytest
import qgis.utils
from qgis.core import QgsApplication, QgsTask

from tests.conftest import REPO


@pytest.fixture
def plugin(qgis_iface):
    import qgis_noisyseg

    instance = qgis_noisyseg.classFactory(qgis_iface)
    instance.initGui()
    yield instance
    instance.unload()


def test_qgis_reads_the_plugin_metadata(qgis_app):
    if str(REPO) not in qgis.utils.plugin_paths:
        qgis.utils.plugin_paths.append(str(REPO))
    qgis.utils.updateAvailablePlugins()
    assert "qgis_noisyseg" in qgis.utils.available_plugins
    assert qgis.utils.pluginMetadata("qgis_noisyseg", "qgisMinimumVersion") == "3.22"
    assert qgis.utils.pluginMetadata("qgis_noisyseg", "icon") == "icon.png"
    assert (REPO / "qgis_noisyseg" / "icon.png").is_file()


def test_classfactory_does_not_import_torch(qgis_iface):
    import qgis_noisyseg

    instance = qgis_noisyseg.classFactory(qgis_iface)
    instance.initGui()
    instance.unload()
    assert "torch" not in sys.modules


def test_unload_removes_every_action(qgis_iface, plugin):
    assert plugin.actions and all(a.parent() is not None for a in plugin.actions)
    names = [a.objectName() for a in plugin.actions]
    assert "noisyseg_check_environment" in names
    plugin.unload()
    assert plugin.actions == []


def test_unload_removes_the_panel_while_its_job_runs(qgis_iface, plugin):
    from qgis.PyQt.QtCore import QCoreApplication, QEvent
    from qgis.PyQt.QtWidgets import QDockWidget

    dock = plugin.show_panel()
    assert not dock.isHidden() and dock.runner.busy  # the environment check starts with the panel
    assert plugin.actions[0].objectName() == "noisyseg_open_panel" and plugin.actions[0].isChecked()
    plugin.unload()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert plugin.dock is None
    assert qgis_iface.mainWindow().findChildren(QDockWidget, "NoisySegDock") == []
    deadline = time.monotonic() + 30
    while QgsApplication.taskManager().countActiveTasks() and time.monotonic() < deadline:
        QCoreApplication.processEvents()  # the cancelled task ends without reaching the deleted panel
    assert QgsApplication.taskManager().countActiveTasks() == 0


def test_backend_task_reports_environment(qgis_app):
    from qgis_noisyseg.gui.backend import BackendTask

    task = BackendTask("env", ["env", "--no-torch"])
    events = []
    task.backend_event.connect(events.append)
    assert task.run() is True, task.error
    assert task.outputs["package_version"] and task.outputs["python"].startswith("3.")
    assert "CPUExecutionProvider" in task.outputs["onnxruntime_providers"]


def test_backend_user_error_becomes_a_message(qgis_app, tmp_path):
    from qgis_noisyseg.gui.backend import BackendTask

    task = BackendTask("export", ["export", "--image", str(tmp_path / "missing.tif"), "--labels", "x.shp",
                                  "--out", str(tmp_path / "ds")])
    assert task.run() is False
    assert task.returncode == 2
    assert "missing.tif does not exist" in task.error


def test_backend_task_runs_under_the_task_manager(qgis_app):
    from qgis.PyQt.QtCore import QCoreApplication, QElapsedTimer

    from qgis_noisyseg.gui.backend import BackendTask

    finished = []
    task = BackendTask("env", ["env", "--no-torch"], on_finished=finished.append)
    QgsApplication.taskManager().addTask(task)
    timer = QElapsedTimer()
    timer.start()
    while not finished and timer.elapsed() < 60_000:
        QCoreApplication.processEvents()
    assert finished == [task] and task.status() == QgsTask.TaskStatus.Complete


def test_metadata_has_every_key_the_plugin_repository_asks_for(qgis_app):
    import qgis_noisyseg

    if str(REPO) not in qgis.utils.plugin_paths:
        qgis.utils.plugin_paths.append(str(REPO))
    qgis.utils.updateAvailablePlugins()
    required = ["name", "qgisMinimumVersion", "description", "about", "version", "author", "email", "repository",
                "tracker", "homepage", "tags", "icon", "experimental", "changelog", "category"]
    values = {key: qgis.utils.pluginMetadata("qgis_noisyseg", key) for key in required}
    missing = [key for key, value in values.items() if value == "__error__" or not value.strip()]
    assert not missing, f"missing or empty in metadata.txt: {missing}"
    assert values["qgisMinimumVersion"] == "3.22" and values["version"] == qgis_noisyseg.__version__
    assert values["repository"] == "https://github.com/qgis-noisyseg/qgis_noisyseg"
    assert values["tracker"] == values["repository"] + "/issues"
    assert values["experimental"] in ("True", "False")
    assert values["changelog"].split()[0] == qgis_noisyseg.__version__
    assert (REPO / "qgis_noisyseg" / values["icon"]).is_file()
