"""Step 1: imagery, label layers, class table, tiling; "Export noisy dataset"."""

from __future__ import annotations

import json
from pathlib import Path

from qgis.core import (Qgis, QgsMapLayerProxyModel,
                       QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer, QgsVectorLayer)
from qgis.PyQt.QtGui import QColor
from qgis.gui import QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                                 QPushButton, QVBoxLayout)

from ...core.classes import UserError
from ...spec.commands import ExportOptions, command_argv
from ..annotation import style_by_class
from ..class_table import ClassTable
from ..layers import OUTPUT_PROPERTY, NotAFileLayer, backend_path
from ..runner import Step
from .base import StepPage, combo, form, narrow, set_combo, spin_for, tr


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


MIN_TILES = 16
TILE_SIZES = (512, 256, 128, 64, 32)


def whole_tiles(width: int, height: int, tile: int) -> int:
    return (width // tile) * (height // tile)


def default_tile_size(width: int, height: int) -> int:
    """The largest of TILE_SIZES (at most 256) giving at least MIN_TILES whole tiles."""
    for size in TILE_SIZES[1:]:
        if whole_tiles(width, height, size) >= MIN_TILES:
            return size
    return TILE_SIZES[-1]


def file_nodata(path: str) -> dict | None:
    """What the image file itself declares, read with GDAL's Python (which QGIS always has; the
    collar that export detects needs the backend): a ``Nodata.describe()`` record with source
    "file", or None when the file declares nothing (export then looks for a black or white border)."""
    from osgeo import gdal

    dataset = gdal.OpenEx(path, gdal.OF_RASTER)
    if dataset is None:
        return None
    bands = [dataset.GetRasterBand(i + 1) for i in range(dataset.RasterCount)]
    values = [band.GetNoDataValue() for band in bands]
    if any(v is not None and v == v for v in values):  # v == v: not NaN
        return {"source": "file", "value": next(v for v in values if v is not None and v == v)}
    if any(band.GetColorInterpretation() == gdal.GCI_AlphaBand for band in bands):
        return {"source": "file", "value": None, "mask": "alpha"}
    if any(band.GetMaskFlags() & (gdal.GMF_PER_DATASET | gdal.GMF_NODATA) for band in bands):
        return {"source": "file", "value": None, "mask": "mask"}
    return None


def describe_nodata(record: dict) -> str:
    """The manifest's ``image.nodata_source`` (export's ``nodata``), or detect_nodata's, in words."""
    source, value = record.get("source"), record.get("value")
    if source == "collar":
        colour = tr("black") if value == 0 else tr("white")
        return tr("a {} border ({:.0%} of the pixels) treated as nodata; choose “none” to keep it").format(
            colour, float(record.get("collar_fraction", 0)))
    if source == "value":
        return tr("pixels of value {:g} in every band are nodata (set here)").format(value)
    if source == "none":
        return tr("none: every pixel is data (set here)")
    if value is not None:
        return tr("the file's nodata tag, value {:g}").format(value)
    mask = record.get("mask")
    if mask == "alpha":
        return tr("the file's alpha band")
    if mask == "mask":
        return tr("the file's nodata mask")
    if mask == "none":
        return tr("none: the file tags no nodata and has no black or white border")
    return tr("the file's alpha band or mask, or none")


class DataStep(StepPage):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self._values_field = ""  # the field the class table was last filled from
        layout = QVBoxLayout(self)
        fields = form()
        self.image = narrow(QgsMapLayerComboBox())
        self.image.setObjectName("noisyseg_image")
        self.image.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        fields.addRow(tr("Imagery"), self.image)
        from ..vector_results import RenderBox  # a web or memory layer is rendered into a GeoTIFF first

        self.render_box = RenderBox(dock, self.image)
        fields.addRow(self.render_box)
        self.labels = QListWidget()
        self.labels.setObjectName("noisyseg_label_layers")
        self.labels.setMaximumHeight(90)
        self.labels.setToolTip(tr("Tick the map layers that hold the (noisy) labels: vector maps or classified "
                                  "rasters. Later layers are burned over earlier ones."))
        self.labels.itemChanged.connect(lambda _item: self._update_field_layer())
        fields.addRow(tr("Label layers"), self.labels)
        self.field = narrow(QgsFieldComboBox())
        self.field.setObjectName("noisyseg_class_field")
        self.field.setAllowEmptyFieldName(True)
        self.field.fieldChanged.connect(self._field_changed)
        fields.addRow(tr("Class field"), self.field)
        layout.addLayout(fields)

        self.table = ClassTable()
        self.table.setMinimumHeight(120)
        self.table.classes_changed.connect(self.style_label_layers)
        layout.addWidget(self.table, 1)
        buttons = QGridLayout()  # two rows of three: all six fit the dock's default width
        for index, (text, name, slot) in enumerate((
                                 (tr("Read values"), "noisyseg_read_values", self.read_values),
                                 (tr("Merge"), "noisyseg_merge", self.table.merge_selected),
                                 (tr("Add"), "noisyseg_add_class", self.table.add_class),
                                 (tr("Remove"), "noisyseg_remove_class", self.table.remove_selected),
                                 (tr("Load…"), "noisyseg_load_classes", self._load_classes),
                                 (tr("Save…"), "noisyseg_save_classes", self._save_classes))):
            button = QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
            buttons.addWidget(button, index // 3, index % 3)
        layout.addLayout(buttons)

        tiling = form()
        self.tile = spin_for("noisyseg_tile", ExportOptions, "tile", maximum=4096)
        self.tile.setSuffix(" px")
        self.tile.setToolTip(tr("Set from the imagery when it is chosen: the largest size that gives at least {} "
                                "whole tiles, so that there are tiles to train on, to check and to test.")
                             .format(MIN_TILES))
        self.tile.valueChanged.connect(lambda _value: self._show_tile_count())
        tiling.addRow(tr("Tile size"), self.tile)
        self.tile_count = QLabel()
        self.tile_count.setObjectName("noisyseg_tile_count")
        self.tile_count.setWordWrap(True)
        tiling.addRow("", self.tile_count)
        self.nodata = combo([(tr("automatic"), "auto"), (tr("none: every pixel is data"), "none"),
                             (tr("this value:"), "value")], "noisyseg_nodata")
        self.nodata.setToolTip(tr("Automatic: the file's nodata, alpha band or mask; without any, a black or white "
                                  "border touching the edge (more than 1 % of the pixels) is taken as nodata. "
                                  "Passed as --nodata to export, suggest and predict."))
        self.nodata_value = QLineEdit()
        self.nodata_value.setObjectName("noisyseg_nodata_value")
        self.nodata_value.setPlaceholderText("0")
        self.nodata_value.setMaximumWidth(80)
        self.nodata.currentIndexChanged.connect(lambda _index: self._nodata_changed())
        self.nodata_value.editingFinished.connect(self._nodata_changed)
        nodata_row = QHBoxLayout()
        nodata_row.addWidget(self.nodata, 1)
        nodata_row.addWidget(self.nodata_value)
        tiling.addRow(tr("Nodata"), nodata_row)
        self.nodata_detected = QLabel()
        self.nodata_detected.setObjectName("noisyseg_nodata_detected")
        self.nodata_detected.setWordWrap(True)
        tiling.addRow("", self.nodata_detected)
        self.unlabeled = combo([(tr("ignore (unknown, not trained on)"), "ignore"),
                                (tr("background (class 0)"), "background")], "noisyseg_unlabeled")
        tiling.addRow(tr("Pixels without a label"), self.unlabeled)
        self.work_folder = QgsFileWidget()
        self.work_folder.setObjectName("noisyseg_work_folder")
        self.work_folder.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.work_folder.setToolTip(tr("Datasets, runs, models and predictions are written here."))
        tiling.addRow(tr("Work folder"), self.work_folder)
        layout.addLayout(tiling)
        self.export_button = self.job_button(tr("Export noisy dataset"), "noisyseg_export", self.export)
        layout.addWidget(self.export_button)
        self.summary = QLabel()
        self.summary.setObjectName("noisyseg_dataset_summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.image.layerChanged.connect(self._layers_changed)
        self.image.layerChanged.connect(self._image_chosen)
        project = QgsProject.instance()
        project.layersAdded.connect(self._layers_changed)
        project.layersRemoved.connect(self._layers_changed)

    def shutdown(self) -> None:
        project = QgsProject.instance()
        for signal in (project.layersAdded, project.layersRemoved):
            signal.disconnect(self._layers_changed)

    def _layers_changed(self, _layers) -> None:
        self._refresh_label_list()

    # -- state --------------------------------------------------------------------------------
    def restore(self, state) -> None:
        layer = QgsProject.instance().mapLayer(state["image_layer"])
        if layer is not None:
            self.image.setLayer(layer)
        self._values_field = state["class_field"]
        self._refresh_label_list(checked=state["label_layers"])
        self.field.setField(state["class_field"])
        if state["classes"]:
            self.table.set_classes(state["classes"])
        self.tile.setValue(int(state["tile"]))
        set_combo(self.unlabeled, state["unlabeled"])
        set_combo(self.nodata, state["nodata"] if state["nodata"] in ("auto", "none") else "value")
        self.nodata_value.setText("" if state["nodata"] in ("auto", "none") else str(state["nodata"]))
        self._nodata_changed()
        self.work_folder.setFilePath(state["work_folder"])
        self.refresh()

    def store(self, state) -> None:
        state["image_layer"] = self.image.currentLayer().id() if self.image.currentLayer() else ""
        state["label_layers"] = [layer.id() for layer in self.label_layers()]
        state["class_field"] = self.field.currentField()
        state["classes"] = self.table.classes() if self.table.rowCount() else []
        state["tile"] = self.tile.value()
        state["unlabeled"] = self.unlabeled.currentData()
        state["nodata"] = self.nodata_option() or "auto"
        state["work_folder"] = self.work_folder.filePath()

    def refresh(self) -> None:
        dataset = self.state["dataset"]
        manifest = Path(dataset) / "manifest.json" if dataset else None
        if manifest is not None and manifest.is_file():
            self.summary.setText(tr("Dataset: {}").format(dataset))
            try:
                image = json.loads(manifest.read_text(encoding="utf-8"))["image"]
                recorded = image.get("nodata_source")
            except (OSError, ValueError, KeyError, TypeError):
                image, recorded = {}, None
            if recorded:
                self.nodata_detected.setText(tr("In the exported dataset: {}").format(describe_nodata(recorded)))
        else:
            self.summary.setText(tr("No dataset exported yet."))
            self._image_nodata_hint()
        self._show_tile_count()

    # -- nodata and tiling --------------------------------------------------------------------
    def nodata_option(self) -> str | None:
        """``--nodata``'s value for export, suggest and predict: None for automatic (the option left out)."""
        choice = self.nodata.currentData()
        if choice == "value":
            return self.nodata_value.text().strip() or "0"
        return None if choice == "auto" else choice

    def _nodata_changed(self) -> None:
        self.nodata_value.setEnabled(self.nodata.currentData() == "value")
        if not self.state["dataset"]:
            self._image_nodata_hint()

    def _image_nodata_hint(self) -> None:
        """What the chosen image's file declares as nodata (its tag, alpha band or mask, read with
        GDAL), or what the Nodata field sets; a black or white border is export's to find (the
        backend's core.nodata), and the line then says what export recorded."""
        image = self.image.currentLayer()
        if image is None:
            self.nodata_detected.setText("")
            return
        try:
            path = backend_path(image)[0]
        except NotAFileLayer:
            self.nodata_detected.setText("")
            return
        option = self.nodata_option()
        try:
            record = (file_nodata(path) if option is None else {"source": "none"} if option == "none" else
                      {"source": "value", "value": float(option)})
        except Exception:  # noqa: BLE001 - a file GDAL cannot read, a value export will refuse: export says why
            self.nodata_detected.setText("")
            return
        if record is None:
            self.nodata_detected.setText(tr("The file declares no nodata: export looks for a black or white border "
                                            "around the image and reports it here."))
            return
        self.nodata_detected.setText(tr("Detected: {}").format(describe_nodata(record)))

    def _image_chosen(self, layer) -> None:
        """A newly chosen image sets the tile size, unless a dataset was exported already."""
        if layer is None or self.state["dataset"]:
            self.refresh()
            return
        self.tile.setValue(default_tile_size(layer.width(), layer.height()))
        self.refresh()

    def _show_tile_count(self) -> None:
        image = self.image.currentLayer()
        if image is None:
            self.tile_count.setText("")
            return
        count = whole_tiles(image.width(), image.height(), self.tile.value())
        self.tile_count.setText(tr("{} whole tiles on the imagery ({} × {} px)").format(count, image.width(),
                                                                                        image.height()))

    # -- layers and classes ----------------------------------------------------------------------
    def label_layers(self) -> list:
        project = QgsProject.instance()
        layers = []
        for row in range(self.labels.count()):
            item = self.labels.item(row)
            layer = project.mapLayer(item.data(Qt.ItemDataRole.UserRole))
            if item.checkState() == Qt.CheckState.Checked and layer is not None:
                layers.append(layer)
        return layers

    def _refresh_label_list(self, checked=None) -> None:
        checked = set(checked if checked is not None else [layer.id() for layer in self.label_layers()])
        image = self.image.currentLayer()
        self.labels.blockSignals(True)
        self.labels.clear()
        for layer in QgsProject.instance().mapLayers().values():
            is_labels = isinstance(layer, QgsVectorLayer) and layer.geometryType() == 2 or (
                isinstance(layer, QgsRasterLayer) and layer.bandCount() == 1)
            if not is_labels or layer is image or layer.customProperty(OUTPUT_PROPERTY):
                continue
            item = QListWidgetItem(layer.name())
            item.setData(Qt.ItemDataRole.UserRole, layer.id())
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if layer.id() in checked else Qt.CheckState.Unchecked)
            self.labels.addItem(item)
        self.labels.blockSignals(False)
        self._update_field_layer()

    def _update_field_layer(self) -> None:
        vectors = [layer for layer in self.label_layers() if isinstance(layer, QgsVectorLayer)]
        current = self.field.currentField() or self._values_field
        self.field.setLayer(vectors[0] if vectors else None)
        if current:
            self.field.setField(current)
        self.style_label_layers()

    def _field_changed(self, name: str) -> None:
        """A newly chosen field refills the class table; the same field coming back (a layer ticked
        or unticked) keeps the operator's edits."""
        if name and name != self._values_field:
            self._values_field = name
            self.read_values()

    def style_label_layers(self) -> int:
        """Draws the ticked label layers by class, with the class table's colours and names, so
        that the old map reads as classes (not QGIS's random single colour). Returns how many
        layers were styled."""
        classes = self.table.classes() if self.table.rowCount() else []
        field = self.field.currentField()
        styled = 0
        for layer in self.label_layers() if classes else []:
            if isinstance(layer, QgsVectorLayer) and field:
                styled += bool(style_by_class(layer, field, classes))  # numbers as numbers for a numeric field
            elif isinstance(layer, QgsRasterLayer):
                entries = [QgsPalettedRasterRenderer.Class(float(value), QColor(cls["color"]), cls["name"])
                           for cls in classes for value in cls["values"] if _is_number(value)]
                if entries:
                    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, entries))
                    layer.triggerRepaint()
                    styled += 1
        return styled

    def read_values(self) -> None:
        """Fills the class table with one class per value of the class field (or raster value)."""
        values = []
        field = self.field.currentField()
        for layer in self.label_layers():
            if isinstance(layer, QgsVectorLayer) and field and layer.fields().indexOf(field) >= 0:
                values += list(layer.uniqueValues(layer.fields().indexOf(field)))
            elif isinstance(layer, QgsRasterLayer):
                values += [entry.value for entry in QgsPalettedRasterRenderer.classDataFromRaster(layer.dataProvider(), 1)]
        if not values:
            return
        try:
            self.table.fill_from_values(values)
        except UserError as exc:
            self.dock.show_message(str(exc), Qgis.MessageLevel.Warning)
            return
        self.style_label_layers()

    def _load_classes(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Load classes"), self.work_folder.filePath(), "classes.json (*.json)")
        if path:
            try:
                self.table.load(path)
            except UserError as exc:
                self.dock.show_message(str(exc), Qgis.MessageLevel.Critical)

    def _save_classes(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, tr("Save classes"), str(Path(self.work_folder.filePath()) / "classes.json"),
                                              "classes.json (*.json)")
        if path:
            try:
                self.table.save(path)
            except UserError as exc:
                self.dock.show_message(str(exc), Qgis.MessageLevel.Critical)

    # -- export -------------------------------------------------------------------------------
    def export(self) -> bool:
        image = self.image.currentLayer()
        labels = self.label_layers()
        problem = (tr("Pick the imagery layer.") if image is None else
                   tr("Tick at least one label layer.") if not labels else
                   tr("Choose a work folder.") if not self.work_folder.filePath() else None)
        if problem:
            self.dock.show_message(problem, Qgis.MessageLevel.Warning)
            return False
        self.store(self.state)
        try:
            paths = [backend_path(layer) for layer in [image, *labels]]
        except NotAFileLayer as exc:
            self.dock.show_message(str(exc), Qgis.MessageLevel.Critical)
            return False
        for layer, (_path, filtered) in zip([image, *labels], paths):
            if filtered:
                self.dock.show_message(tr("The filter of layer “{}” is ignored: the backend reads the whole file")
                                       .format(layer.name()), Qgis.MessageLevel.Warning)
        self.style_label_layers()
        out = self.state.work_path("dataset")
        options = ExportOptions(image=paths[0][0], labels=[path for path, _filtered in paths[1:]],
                                field=self.field.currentField() or None, tile=self.tile.value(),
                                unlabeled=self.unlabeled.currentData(), nodata=self.nodata_option(), out=str(out))
        if self.table.rowCount():
            classes = self.state.work_path("classes.json")
            try:
                classes.parent.mkdir(parents=True, exist_ok=True)
                self.table.save(classes)
            except (UserError, OSError) as exc:
                self.dock.show_message(str(exc), Qgis.MessageLevel.Critical)
                return False
            options.classes = str(classes)
        if out.exists():
            if not self.dock.confirm(tr("Replace the dataset in {}? Runs already trained on it are kept.").format(out)):
                return False
            options.overwrite = True
        return self.dock.run([Step(tr("Exporting the noisy dataset"), command_argv(options), self._exported)])

    def _exported(self, outputs: dict) -> None:
        self.state["dataset"] = outputs["dataset"]
        if outputs.get("nodata"):
            self.nodata_detected.setText(tr("In the exported dataset: {}").format(describe_nodata(outputs["nodata"])))
        self.dock.annotate_step.open_package(add_clean_layer=False)
        splits = outputs.get("splits", {})
        self.dock.set_status(tr("Exported {tiles} tiles ({train} train, {val} val, {test} test)").format(
            tiles=outputs["tiles"], train=splits.get("train", 0), val=splits.get("val", 0), test=splits.get("test", 0)))
        self.summary.setText(tr("Dataset: {path} — {tiles} tiles (train {train}, val {val}, test {test}), {classes} classes")
                             .format(path=outputs["dataset"], tiles=outputs["tiles"], train=splits.get("train", 0),
                                     val=splits.get("val", 0), test=splits.get("test", 0), classes=outputs["classes"]))
