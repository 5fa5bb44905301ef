"""The panel's vector results and areas: an area of interest for predict and suggest, polygons
of the prediction, the map-update report with *Zoom to next change*, and the rendering of a
layer that is not a file (WMS/WMTS/XYZ, memory, virtual) into a GeoTIFF the backend reads.

The steps add these widgets and ask them for arguments; what the backend writes comes back
here to be added to the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from qgis.core import (Qgis, QgsApplication, QgsCoordinateTransform, QgsFeatureRequest,
                       QgsMapLayerProxyModel, QgsProject, QgsRasterLayer, QgsVectorLayer)
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import (QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                                 QVBoxLayout, QWidget)

from ..spec.commands import CompareMapOptions, PredictOptions, command_argv
from ..bridge.aoi_layer import aoi_source
from .layers import NotAFileLayer, add_vector, backend_path
from ..bridge.render_layer import RenderTask, ground_crs, is_file_layer
from .runner import Step
from .steps.base import WrappedCheckBox


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegVectors", text)


class AreaOfInterest(QgsMapLayerComboBox):
    """A polygon layer, or none (the whole image or extent)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.setAllowEmptyLayer(True)
        self.setLayer(None)
        self.setToolTip(tr("Only the tiles that meet these polygons (any CRS) are computed; pixels outside them "
                           "are nodata."))

    def source(self, show_message) -> tuple[bool, Optional[str]]:
        """(True, ``--aoi``'s value: the polygons' file, None without a layer), or (False, None)
        after telling the operator why the layer cannot be used."""
        layer = self.currentLayer()
        if layer is None:
            return True, None
        try:
            return True, aoi_source(layer)
        except NotAFileLayer as exc:
            show_message(str(exc), Qgis.MessageLevel.Critical)
            return False, None


class VectorResults(QWidget):
    """For the predict step: AOI, polygons, map changes, and Zoom to next change."""

    def __init__(self, dock) -> None:
        super().__init__()
        self.dock = dock
        self.change_layer_id = ""
        self.position = -1
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.aoi = AreaOfInterest("noisyseg_predict_aoi")
        layout.addRow(tr("Limit to polygons"), self.aoi)
        self.polygons = WrappedCheckBox(tr("Also write the classes as polygons (GeoPackage)"), "noisyseg_polygons")
        self.polygons.setToolTip(tr("Simplified to about a pixel; polygons and holes under 4 pixels dropped; "
                                    "mean confidence per polygon."))
        layout.addRow(self.polygons)
        self.changes = WrappedCheckBox(tr("List the old map's polygons that changed"), "noisyseg_map_changes")
        self.changes.setToolTip(tr("For every polygon of the first label layer: its old class, the predicted class and "
                                   "share, the mean confidence; confident changes first."))
        layout.addRow(self.changes)
        row = QHBoxLayout()
        self.next_change = QPushButton(tr("Zoom to next change"))
        self.next_change.setObjectName("noisyseg_next_change")
        self.next_change.clicked.connect(lambda _checked=False: self.zoom_to_next_change())
        self.next_change.setEnabled(False)
        self.change_label = QLabel()
        self.change_label.setObjectName("noisyseg_change_label")
        self.change_label.setWordWrap(True)
        row.addWidget(self.next_change)
        row.addWidget(self.change_label, 1)
        layout.addRow(row)

    # -- arguments and steps --------------------------------------------------------------------
    def set_predict_options(self, options: PredictOptions, outputs: dict) -> bool:
        """Sets ``--aoi`` and ``--vectorize`` of ``options``, adding ``vector`` to ``outputs`` when
        polygons are asked for; False when the AOI cannot be used."""
        ok, options.aoi = self.aoi.source(self.dock.show_message)
        if not ok:
            return False
        if self.polygons.isChecked():
            outputs["vector"] = Path(outputs["classes"]).with_suffix(".gpkg")
            options.vectorize = str(outputs["vector"])
        return True

    def compare_step(self, model: str, prediction: Path, add: Callable[[dict], None]) -> Optional[Step]:
        if not self.changes.isChecked():
            return None
        labels = self.dock.data_step.label_layers()
        vectors = [layer for layer in labels if isinstance(layer, QgsVectorLayer)]
        if not vectors:
            self.dock.show_message(tr("The map-change list needs a vector label layer (step 1)."), Qgis.MessageLevel.Warning)
            return None
        try:
            old_map = backend_path(vectors[0])[0]
        except NotAFileLayer as exc:
            self.dock.show_message(str(exc), Qgis.MessageLevel.Warning)
            return None
        options = CompareMapOptions(prediction=str(prediction), labels=old_map, model=str(model),
                                    field=self.dock.data_step.field.currentField() or None,
                                    out=str(prediction.with_name(f"{prediction.stem}_changes.gpkg")), overwrite=True)
        return Step(tr("Comparing with the old map"), command_argv(options), add)

    # -- layers ---------------------------------------------------------------------------------
    def add_polygons(self, result: dict, into) -> None:
        if result.get("vector"):
            layer = QgsVectorLayer(f"{result['vector']}|layername={result.get('vector_layer', 'classes')}",
                                   tr("classes (polygons)"), "ogr")
            if layer.isValid():
                add_vector(QgsProject.instance(), layer, into)

    def add_changes(self, result: dict, into) -> None:
        layer = QgsVectorLayer(f"{result['map_changes']}|layername={result.get('map_changes_layer', 'map_changes')}",
                               tr("changes in the old map"), "ogr")
        if not layer.isValid():
            self.dock.show_message(tr("QGIS cannot open {}").format(result["map_changes"]), Qgis.MessageLevel.Warning)
            return
        layer = add_vector(QgsProject.instance(), layer, into)
        self.change_layer_id = layer.id()
        self.position = -1
        self.next_change.setEnabled(result.get("changed", 0) > 0)
        self.change_label.setText(tr("{changed} of {compared} polygons changed").format(
            changed=result.get("changed", 0), compared=result.get("compared", 0)))

    def zoom_to_next_change(self) -> None:
        """The next changed polygon, most confident first (the layer is written in that order)."""
        layer = QgsProject.instance().mapLayer(self.change_layer_id)
        if layer is None:
            self.next_change.setEnabled(False)
            return
        request = QgsFeatureRequest().setFilterExpression('"changed" = 1')
        changed = sorted(layer.getFeatures(request), key=lambda f: -(f["change_score"] or 0.0))
        if not changed:
            self.change_label.setText(tr("No polygon changed"))
            return
        self.position = (self.position + 1) % len(changed)
        feature = changed[self.position]
        canvas = self.dock.iface.mapCanvas()
        transform = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
        box = transform.transformBoundingBox(feature.geometry().boundingBox())
        canvas.setExtent(box.buffered(max(box.width(), box.height()) * 0.5 or 50))
        canvas.refresh()
        layer.selectByIds([feature.id()])
        self.change_label.setText(tr("Change {n} of {total}: {old} → {new} ({share:.0%} of the polygon, "
                                     "confidence {confidence})").format(
            n=self.position + 1, total=len(changed), old=feature["old_class"], new=feature["predicted_class"],
            share=feature["share"] or 0.0,
            confidence="–" if feature["confidence"] in (None, "") or feature["confidence"] != feature["confidence"]
            else f"{feature['confidence']:.2f}"))


class RenderBox(QGroupBox):
    """Shown when the imagery is not a file: renders it over the map extent at a ground
    resolution into the work folder, then makes the GeoTIFF the imagery layer."""

    def __init__(self, dock, image_combo: QgsMapLayerComboBox) -> None:
        super().__init__(tr("This layer is not a file: render it first"))
        self.setObjectName("noisyseg_render_box")
        self.dock, self.image = dock, image_combo
        self.task: Optional[RenderTask] = None
        layout = QVBoxLayout(self)
        note = QLabel(tr("Drawn over the current map extent into a GeoTIFF (RGB 8-bit) in the work folder, "
                         "which export and predict then read."))
        note.setToolTip(tr("WMS, WMTS, XYZ, memory and virtual layers are rendered through QGIS's raster pipe, in "
                           "blocks. The licence and terms of use of a basemap are yours to respect."))
        note.setWordWrap(True)
        layout.addWidget(note)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Ground resolution")))
        self.resolution = QDoubleSpinBox()
        self.resolution.setObjectName("noisyseg_render_resolution")
        self.resolution.setRange(0.01, 10000.0)
        self.resolution.setDecimals(2)
        self.resolution.setValue(10.0)
        self.resolution.setSuffix(tr(" m/px"))
        row.addWidget(self.resolution)
        self.button = QPushButton(tr("Render to GeoTIFF"))
        self.button.setObjectName("noisyseg_render")
        self.button.clicked.connect(lambda _checked=False: self.render())
        row.addWidget(self.button)
        layout.addLayout(row)
        self.image.layerChanged.connect(lambda _layer: self.update_visibility())
        self.update_visibility()

    def update_visibility(self) -> None:
        layer = self.image.currentLayer()
        self.setVisible(layer is not None and not is_file_layer(layer))

    def render(self) -> bool:
        layer = self.image.currentLayer()
        if layer is None or self.task is not None:
            return False
        if not self.dock.data_step.work_folder.filePath():
            self.dock.show_message(tr("Choose a work folder."), Qgis.MessageLevel.Warning)
            return False
        self.dock.data_step.store(self.dock.state)
        canvas = self.dock.iface.mapCanvas()
        crs = canvas.mapSettings().destinationCrs()
        if not crs.isValid() or crs.isGeographic():
            self.dock.show_message(tr("Set the project to a projected CRS (metres) to render at a ground resolution."),
                                   Qgis.MessageLevel.Warning)
            return False
        crs, extent = ground_crs(crs, canvas.extent())
        folder = self.dock.state.work_path("rendered")
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in layer.name())[:40] or "layer"
        number = 1
        while (folder / f"{safe}-{number}.tif").exists():
            number += 1
        out = folder / f"{safe}-{number}.tif"
        self.button.setEnabled(False)
        self.task = RenderTask(layer, out, extent, crs, self.resolution.value(), self._rendered)
        QgsApplication.taskManager().addTask(self.task)
        self.dock.show_message(tr("Rendering “{}” into {} (progress and Cancel in QGIS's task bar)")
                               .format(layer.name(), out))
        return True

    def _rendered(self, result: Optional[dict], error: Optional[str]) -> None:
        self.task = None
        self.button.setEnabled(True)
        if result is None:
            self.dock.show_message(error, Qgis.MessageLevel.Warning)
            return
        layer = QgsRasterLayer(result["path"], Path(result["path"]).stem)
        if not layer.isValid():
            self.dock.show_message(tr("QGIS cannot open {}").format(result["path"]), Qgis.MessageLevel.Critical)
            return
        QgsProject.instance().addMapLayer(layer)
        self.image.setLayer(layer)
        self.dock.show_message(tr("Rendered {w} × {h} pixels; the imagery is now {path}").format(
            w=result["width"], h=result["height"], path=result["path"]))

