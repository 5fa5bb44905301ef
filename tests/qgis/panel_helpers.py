"""Driving the dock panel from tests: waiting for its backend jobs, loading the Denmark scene."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication, QElapsedTimer, Qt
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QListWidget

from tests.conftest import DENMARK, REPO

SCREENSHOTS = REPO / "docs" / "screenshots"


def wait_until(condition, timeout_s: float = 300.0) -> None:
    timer = QElapsedTimer()
    timer.start()
    while not condition():
        if timer.elapsed() > timeout_s * 1000:
            raise TimeoutError(f"not done after {timeout_s} s")
        QCoreApplication.processEvents()


def wait_for_job(dock, timeout_s: float = 300.0) -> str:
    """Waits for the panel's running chain; returns the status line it ended with."""
    wait_until(lambda: not dock.runner.busy, timeout_s)
    QCoreApplication.processEvents()
    return dock.status.text()


def close_dock(dock) -> None:
    """A test's dock closed as QGIS closes it: a running job cancelled and waited for first."""
    if dock.runner.busy:
        dock.cancel()
        wait_for_job(dock)
    dock.shutdown()
    dock.deleteLater()


def tick_label_layer(dock, layer, ticked: bool = True) -> None:
    """Ticks (or unticks) ``layer`` in the data step's list of label layers as the operator does:
    the row that shows its name made current, and its check box toggled with the space bar (the
    list's own delegate turns that into the check state, as it does a click)."""
    widget = dock.findChild(QListWidget, "noisyseg_label_layers")
    rows = [widget.item(row) for row in range(widget.count()) if widget.item(row).text() == layer.name()]
    assert len(rows) == 1, f"{layer.name()!r} is listed {len(rows)} times among the label layers"
    wanted = Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
    if rows[0].checkState() != wanted:
        widget.setCurrentItem(rows[0])
        QTest.keyClick(widget, Qt.Key.Key_Space)
    assert rows[0].checkState() == wanted, f"{layer.name()!r} did not toggle"


def load_denmark(project: QgsProject) -> tuple[QgsRasterLayer, QgsVectorLayer]:
    image = QgsRasterLayer(str(DENMARK / "RGB_small.tif"), "Sentinel-2 RGB")
    old_map = QgsVectorLayer(str(DENMARK / "marker_small_c31bc47.shp"), "old parcel map", "ogr")
    assert image.isValid() and old_map.isValid()
    project.addMapLayers([image, old_map])
    return image, old_map


def save_screenshot(widget, name: str, tmp_path: Path) -> Path:
    """Renders ``widget`` to a PNG in tmp_path (and into docs/screenshots/ with
    NOISYSEG_UPDATE_SCREENSHOTS=1); checks that it is a real picture, not a blank one."""
    image = widget.grab().toImage()
    path = tmp_path / f"{name}.png"
    assert image.save(str(path))
    pixels = np.array([image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)])
    assert image.width() > 200 and image.height() > 200 and len(np.unique(pixels)) > 20, name
    if os.environ.get("NOISYSEG_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        image.save(str(SCREENSHOTS / f"{name}.png"))
    return path
