"""Step 5: predict the whole image or the map extent; add the styled layers, grouped; review the
metrics and the training curves."""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsCoordinateTransform, QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import QGridLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from ...spec.commands import PredictOptions, command_argv
from ..layers import NotAFileLayer, add_raster, backend_path, group
from ..metrics_table import MetricsTable
from ..runner import Step
from .base import StepPage, WrappedCheckBox, combo, form, tr

GROUP = "noisyseg predictions"
CURVE_WIDTH = 480  # the widest a curve picture is drawn; narrower docks scale it down


class ScaledPicture(QLabel):
    """A picture as wide as the page (at most CURVE_WIDTH), its aspect ratio kept: it never makes
    the page scroll sideways."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.original = QPixmap(path)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(60)
        self._rescale(CURVE_WIDTH)

    def _rescale(self, width: int) -> None:
        width = max(min(width, CURVE_WIDTH), 60)
        if self.original.isNull():
            return
        picture = self.original.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(picture)
        self.setFixedHeight(picture.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.pixmap() is None or self.pixmap().width() != min(self.width(), CURVE_WIDTH):
            self._rescale(self.width())


class PredictStep(StepPage):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self.layer_ids: list[str] = []
        layout = QVBoxLayout(self)
        fields = form()
        self.model = combo([], "noisyseg_predict_model")
        fields.addRow(tr("Model"), self.model)
        self.extent = combo([(tr("Whole image"), "image"), (tr("Current map extent"), "canvas")], "noisyseg_predict_extent")
        fields.addRow(tr("Area"), self.extent)
        self.compare = WrappedCheckBox(tr("Show where it disagrees with the old map"), "noisyseg_disagreement")
        self.compare.setToolTip(tr("Adds a layer of the pixels where the prediction and the first label layer of "
                                   "step 1 differ."))
        self.compare.setChecked(True)
        fields.addRow(self.compare)
        from ..vector_results import VectorResults  # area of interest, polygons, map changes

        self.vectors = VectorResults(dock)
        fields.addRow(self.vectors)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("noisyseg_opacity")
        self.opacity.setRange(0, 100)
        self.opacity.valueChanged.connect(self.set_opacity)
        fields.addRow(tr("Opacity"), self.opacity)
        layout.addLayout(fields)
        self.predict_button = self.job_button(tr("Predict"), "noisyseg_predict", self.start)
        layout.addWidget(self.predict_button)
        self.metrics_caption = QLabel(tr("Scores on the check tiles (step 4):"))
        self.metrics_caption.setWordWrap(True)
        layout.addWidget(self.metrics_caption)
        self.metrics = MetricsTable("noisyseg_review_metrics")
        layout.addWidget(self.metrics)
        self.curves_caption = QLabel(tr("Training curves:"))
        self.curves_caption.setWordWrap(True)
        layout.addWidget(self.curves_caption)
        self.curves = QWidget()
        self.curves.setObjectName("noisyseg_curves")
        self.curves_layout = QGridLayout(self.curves)
        layout.addWidget(self.curves)

    def restore(self, state) -> None:
        self.opacity.setValue(int(state["opacity"]))
        self.refresh()

    def store(self, state) -> None:
        state["opacity"] = self.opacity.value()

    def refresh(self) -> None:
        current = self.model.currentData()
        before = {self.model.itemData(i) for i in range(self.model.count())}
        self.model.clear()
        for kind, runs in ((tr("fine-tuned"), self.state["finetune_runs"]), (tr("pretrained"), self.state["pretrain_runs"])):
            for run in reversed(runs):
                onnx = Path(run["path"]) / "model.onnx"
                if run.get("complete") and onnx.is_file():
                    self.model.addItem(f"{Path(run['path']).name} ({kind})", str(onnx))
        new_models = {self.model.itemData(i) for i in range(self.model.count())} - before
        # the newest model (listed first) once one appears, else the operator's choice
        self.model.setCurrentIndex(0 if new_models else max(self.model.findData(current), 0))
        latest = self.dock.finetune_step.latest_run()
        metrics = latest["metrics"] if latest else {}
        self.metrics.show_metrics(metrics)
        shown = any(metrics.values()) if metrics else False  # no empty table before a fine-tune is scored
        self.metrics_caption.setVisible(shown)
        self.metrics.setVisible(shown)
        self._show_curves(latest)

    def _show_curves(self, latest) -> None:
        while self.curves_layout.count():
            self.curves_layout.takeAt(0).widget().deleteLater()
        runs = [self.dock.pretrain_step.selected_run()]
        if latest:
            runs += [latest, {"path": latest["scratch"]} if latest.get("scratch") else None]
        pictures = [Path(run["path"]) / "curves.png" for run in runs if run]
        for number, picture in enumerate(p for p in pictures if p.is_file()):
            label = ScaledPicture(str(picture))
            label.setToolTip(str(picture))
            caption = QLabel(picture.parent.name)
            self.curves_layout.addWidget(caption, 2 * number, 0)
            self.curves_layout.addWidget(label, 2 * number + 1, 0)
        self.curves_caption.setVisible(self.curves_layout.count() > 0)

    def start(self) -> bool:
        model = self.model.currentData()
        image = self.dock.data_step.image.currentLayer()
        if not model or image is None:
            self.dock.show_message(tr("Train a model (steps 2 and 4) and pick the imagery (step 1) first."), Qgis.MessageLevel.Warning)
            return False
        try:
            image_path, _ = backend_path(image)
        except NotAFileLayer as exc:
            self.dock.show_message(str(exc), Qgis.MessageLevel.Critical)
            return False
        self.store(self.state)
        folder = self.state.work_path("predictions")
        number = len(self.state["predictions"]) + 1
        while (folder / f"prediction-{number}.tif").exists():
            number += 1
        outputs = {"classes": folder / f"prediction-{number}.tif", "confidence": folder / f"prediction-{number}_confidence.tif"}
        options = PredictOptions(model=str(model), image=image_path, out=str(outputs["classes"]),
                                 confidence=str(outputs["confidence"]), nodata=self.dock.data_step.nodata_option())
        labels = self.dock.data_step.label_layers()
        if self.compare.isChecked() and labels:
            try:
                options.disagreement_with = backend_path(labels[0])[0]
            except NotAFileLayer as exc:
                self.dock.show_message(str(exc), Qgis.MessageLevel.Warning)
            else:
                options.disagreement_field = self.dock.data_step.field.currentField() or None
        if self.extent.currentData() == "canvas":
            options.extent = self._canvas_extent(image)
        if not self.vectors.set_predict_options(options, outputs):
            return False
        folder.mkdir(parents=True, exist_ok=True)
        name = tr("prediction {} ({})").format(number, Path(model).parent.name)
        steps = [Step(tr("Predicting"), command_argv(options), lambda result: self._add_layers(name, model, result))]
        compare = self.vectors.compare_step(model, outputs["classes"], lambda result: self.vectors.add_changes(
            result, group(QgsProject.instance(), name, group(QgsProject.instance(), GROUP))))
        return self.dock.run(steps + ([compare] if compare else []))

    def _canvas_extent(self, image) -> list[float]:
        canvas = self.dock.iface.mapCanvas()
        transform = QgsCoordinateTransform(canvas.mapSettings().destinationCrs(), image.crs(), QgsProject.instance())
        extent = transform.transformBoundingBox(canvas.extent()).intersect(image.extent())
        return [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]

    def _add_layers(self, name: str, model: str, result: dict) -> None:
        project = QgsProject.instance()
        into = group(project, name, group(project, GROUP))
        opacity = self.opacity.value() / 100
        layers = []
        for key, title in (("classes", tr("classes")), ("disagreement", tr("disagrees with the old map")),
                           ("confidence", tr("confidence"))):
            if result.get(key):
                layers.append(add_raster(project, result[key], f"{title}", into,
                                              opacity if key == "classes" else None))
        self.vectors.add_polygons(result, into)
        self.layer_ids = [layer.id() for layer in layers]
        for child in into.children()[1:]:
            child.setItemVisibilityChecked(False)  # the classes on top; the others one click away
        into.setExpanded(True)
        into.parent().setExpanded(True)
        self.dock.set_status(tr("Predicted {}: {} layers added to the group “{}”").format(
            Path(result["classes"]).name, len(layers), name))
        self.state["predictions"].append({"model": model, **{k: result.get(k) for k in ("classes", "confidence", "disagreement")}})

    def set_opacity(self, value: int) -> None:
        """Applies to the latest prediction, while it is still in the project."""
        layer = QgsProject.instance().mapLayer(self.layer_ids[0]) if self.layer_ids else None
        if layer is not None and layer.renderer() is not None:
            layer.renderer().setOpacity(value / 100)
            layer.triggerRepaint()
        self.state["opacity"] = value
