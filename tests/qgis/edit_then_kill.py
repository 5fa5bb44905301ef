"""Run as a script by tests/qgis/test_check_tiles_panel.py: in a QGIS of its own (offscreen), open
the panel on a work folder, show a tile, change a polygon's class with the class palette, undo it
and do it again (the panel saves each edit as it is made), and kill the process (SIGKILL) before
the project is saved or the tile left. argv: DATASET GPKG TILE_ID CLASS_ID."""

import os
import signal
import sys

from qgis.core import QgsApplication
from qgis.gui import QgsMapCanvas
from qgis.PyQt.QtWidgets import QMainWindow

app = QgsApplication([], True)
app.initQgis()

from qgis_noisyseg.gui.panel import NoisySegDock  # noqa: E402
from tests.qgis.edit_then_kill_iface import Iface  # noqa: E402

dataset, gpkg, tile_id, class_id = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
window = QMainWindow()
canvas = QgsMapCanvas(window)
iface = Iface(canvas, window)
dock = NoisySegDock(iface)
dock.state["dataset"] = dataset
dock.state["annotation_package"] = gpkg
step = dock.annotate_step
package = step.current_package()
step.show_tile(tile_id)
labels = package.labels
feature = next(labels.getFeatures(f"\"tile_id\" = '{tile_id}'"))
labels.selectByIds([feature.id()])
def settle():
    for _ in range(10):
        app.processEvents()


assert step.set_class(class_id) == 1
settle()
assert step.undo_edit()  # undo works on saved edits: the class is back
settle()
assert labels.getFeature(feature.id())["class_id"] != class_id
assert step.set_class(class_id) == 1
settle()
print(feature.id(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
