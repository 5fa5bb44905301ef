"""Step 3: pick tiles (or let the model suggest them), prefill them with the noisy labels, correct
them with QGIS's own editing tools, and mark them done. Everything lives in a GeoPackage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from qgis.core import Qgis, QgsProject
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from .. import annotation
from ..layers import add_vector, group
from ..runner import Step
from .base import StepPage, form, spin, tr

GROUP = "noisyseg"


class AnnotateStep(StepPage):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self.package: Optional[annotation.AnnotationPackage] = None
        layout = QVBoxLayout(self)
        intro = QLabel(tr("Select tiles on the map (the “tiles” layer), or let the model suggest the ones it is least "
                          "sure about. Prefill them with the noisy labels, correct the polygons with QGIS's editing "
                          "tools (the class is a drop-down in the attribute form), then mark the tiles done."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.open_button = self._button(tr("Open clean-label layer"), "noisyseg_open_clean", self.open_package)
        layout.addWidget(self.open_button)
        suggest_row = QHBoxLayout()
        self.suggest_button = self.job_button(tr("Suggest tiles"), "noisyseg_suggest", self.suggest)
        self.suggest_button.setToolTip(tr("Ranks tiles by the pretrained model's uncertainty: low confidence, "
                                          "or high disagreement with the noisy map. Selects the top ones."))
        fields = form()
        self.top = spin("noisyseg_suggest_top", 5, 1, 100)
        fields.addRow(tr("How many"), self.top)
        suggest_row.addWidget(self.suggest_button)
        suggest_row.addLayout(fields)
        layout.addLayout(suggest_row)
        from ..vector_results import AreaOfInterest

        self.aoi = AreaOfInterest("noisyseg_suggest_aoi")
        fields.addRow(tr("Limit to polygons"), self.aoi)
        row = QHBoxLayout()
        row.addWidget(self._button(tr("Prefill selected tiles"), "noisyseg_prefill", self.prefill_selected))
        row.addWidget(self._button(tr("Edit clean labels"), "noisyseg_edit", self.start_editing))
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self._button(tr("Mark selected done"), "noisyseg_mark_done", lambda: self.mark_selected(True)))
        row.addWidget(self._button(tr("Mark selected not done"), "noisyseg_mark_not_done", lambda: self.mark_selected(False)))
        layout.addLayout(row)
        self.counter = QLabel()
        self.counter.setObjectName("noisyseg_done_counter")
        layout.addWidget(self.counter)
        layout.addStretch(1)

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def restore(self, state) -> None:
        self.package = None
        self.refresh()

    def refresh(self) -> None:
        package = self.current_package()
        if package is None:
            self.counter.setText(tr("No clean-label layer yet: export a dataset first."))
        else:
            self.counter.setText(tr("Tiles done: {} of {}").format(annotation.done_count(package),
                                                                    annotation.tile_count(package)))
        has_model = bool(self._model_path())
        self.suggest_button.setEnabled(has_model and package is not None and not self.dock.runner.busy)

    def current_package(self) -> Optional["annotation.AnnotationPackage"]:
        """The open package, or the one recorded in the project, opened again (its layers re-used)."""
        if self.package is not None and self.package.tiles.isValid():
            return self.package
        path = self.state["annotation_package"]
        if path and Path(path).is_file() and self.state["dataset"]:
            try:
                self.package = self._open(path)
            except annotation.AnnotationError as exc:
                self.dock.show_message(str(exc), Qgis.MessageLevel.Warning)
                return None
            return self.package
        return None

    def open_package(self, add_clean_layer: bool = True) -> Optional["annotation.AnnotationPackage"]:
        dataset = self.state["dataset"]
        if not dataset or not (Path(dataset) / "manifest.json").is_file():
            self.dock.show_message(tr("Export a noisy dataset first (step 1)."), Qgis.MessageLevel.Warning)
            return None
        path = self.state["annotation_package"] or str(self.state.work_path("clean_labels.gpkg"))
        try:
            self.package = self._open(path, add_clean_layer)
        except annotation.AnnotationError as exc:
            self.dock.show_message(str(exc), Qgis.MessageLevel.Critical)
            return None
        self.state["annotation_package"] = path
        self.refresh()
        return self.package

    def _open(self, path: str, add_clean_layer: bool = True) -> "annotation.AnnotationPackage":
        package = annotation.create_annotation_package(path, self.state["dataset"])
        project = QgsProject.instance()
        into = group(project, GROUP)
        package.tiles = add_vector(project, package.tiles, into)
        if add_clean_layer or any(layer.source() == package.labels.source() for layer in project.mapLayers().values()):
            package.labels = add_vector(project, package.labels, into)
        return package

    def _model_path(self) -> Optional[str]:
        run = self.dock.pretrain_step.selected_run()
        if run and run["complete"] and (Path(run["path"]) / "model.onnx").is_file():
            return str(Path(run["path"]) / "model.onnx")
        return None

    def suggest(self) -> bool:
        package, model = self.current_package(), self._model_path()
        if package is None or model is None:
            self.dock.show_message(tr("Pretrain a model first (step 2)."), Qgis.MessageLevel.Warning)
            return False

        def suggested(outputs: dict) -> None:
            scores = {entry["tile_id"]: entry["score"] for entry in outputs["suggestions"]}
            annotation.set_scores(package, scores)
            annotation.select_tiles(package, list(scores))
            self.dock.iface.mapCanvas().zoomToSelected(package.tiles)

        aoi = self.aoi.arguments(self.dock.show_message)
        if aoi is None:
            return False
        return self.dock.run([Step(tr("Ranking tiles by the model's uncertainty"),
                                   ["suggest", "--model", model, "--data", self.state["dataset"],
                                    "--top", self.top.value(), *aoi], suggested)])

    def prefill_selected(self) -> int:
        package = self.current_package() or self.open_package()
        if package is None:
            return 0
        tile_ids = annotation.selected_tile_ids(package)
        if not tile_ids:
            self.dock.show_message(tr("Select tiles on the “tiles” layer first (or press Suggest tiles)."), Qgis.MessageLevel.Warning)
            return 0
        if not any(layer.source() == package.labels.source() for layer in QgsProject.instance().mapLayers().values()):
            package.labels = add_vector(QgsProject.instance(), package.labels, group(QgsProject.instance(), GROUP))
        added = annotation.prefill_tiles(package, self.state["dataset"], tile_ids)
        self.dock.show_message(tr("Added {} noisy-label polygons to {} tiles; tiles that already had clean labels "
                                  "were left as they are.").format(added, len(tile_ids)), Qgis.MessageLevel.Info)
        self.refresh()
        return added

    def start_editing(self) -> None:
        package = self.current_package() or self.open_package()
        if package is None:
            return
        self.dock.iface.setActiveLayer(package.labels)
        package.labels.startEditing()

    def mark_selected(self, done: bool) -> None:
        package = self.current_package()
        if package is None:
            return
        tile_ids = annotation.selected_tile_ids(package)
        annotation.mark_done(package, tile_ids, done)
        self.refresh()
