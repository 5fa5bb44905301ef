"""Run as a script by tests/qgis/test_check_tiles_panel.py: in a QGIS of its own (offscreen), open
the panel on a saved work folder, show a tile, change a polygon's class with the class palette,
move to the next tile, and kill the process (SIGKILL) before the project or the layer is saved
by anything else. argv: WORK_DATASET GPKG TILE_ID CLASS_ID."""

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
assert step.set_class(class_id) == 1 and labels.isModified()
labels.undoStack().undo()  # undo works: the class is back
assert labels.getFeature(feature.id())["class_id"] != class_id
labels.undoStack().redo()
step.next_tile()  # moving on saves the edits
print(feature.id(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
