"""Step 3: draw check tiles, let the model suggest training tiles (or pick them), prefill them with
the noisy labels, correct them tile by tile with QGIS's own editing tools, and mark them done.
Everything lives in a GeoPackage.

Two kinds of tile are corrected. *Training tiles* are chosen where the model is worst (Suggest)
or by hand; the model learns from them. *Check tiles* are drawn at random over the image
(core/check_tiles.py); the models are only ever scored on them, so that the scores say how good
the map is rather than how bad the model was where it was worst."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from qgis.core import (Qgis, QgsCoordinateTransform, QgsFeatureRequest, QgsExpression, QgsProject,
                       QgsWkbTypes)
from qgis.gui import QgsRubberBand
from qgis.PyQt.QtGui import QColor, QIcon, QKeySequence, QPixmap
from qgis.PyQt.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout

from ...core.check_tiles import DEFAULT_CHECK_TILES
from ...spec.commands import SuggestOptions, command_argv
from .. import annotation
from ..layers import add_vector, group
from ..runner import Step
from .base import StepPage, form, spin, tr

GROUP = "noisyseg"
ZOOM_MARGIN = 0.15  # of the tile's size, around it, when a tile is shown for correction
OUTLINE_COLOUR = "#ffea00"
PALETTE_TWO_COLUMNS = 330  # px: the room for two class buttons side by side on a page at the dock's default width


class AnnotateStep(StepPage):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self.package: Optional[annotation.AnnotationPackage] = None
        self.current_tile: Optional[str] = None
        self._band: Optional[QgsRubberBand] = None
        self._saver: Optional[annotation.AutoSaver] = None
        layout = QVBoxLayout(self)
        intro = wrapped(tr("Correct two kinds of tile. Check tiles are drawn at random over the image; the models "
                           "are only scored on them, never trained on them. Training tiles are the ones the model "
                           "learns from: let it suggest those it is least sure about, or select your own."))
        layout.addWidget(intro)
        self.open_button = self._button(tr("Open clean-label layer"), "noisyseg_open_clean", self.open_package)
        layout.addWidget(self.open_button)

        choose = QGridLayout()
        self.check_button = self._button(tr("Draw check tiles"), "noisyseg_draw_check", self.draw_check_tiles)
        self.check_button.setToolTip(tr("Draws this many more check tiles at random, spread over the image (one per "
                                        "block in turn), among the tiles not used yet. Correct them like the others."))
        self.check_count = spin("noisyseg_check_count", DEFAULT_CHECK_TILES, 1, 50)
        self.check_count.setToolTip(tr("How many check tiles to draw"))
        self.suggest_button = self.job_button(tr("Suggest training tiles"), "noisyseg_suggest", self.suggest)
        self.suggest_button.setToolTip(tr("Ranks tiles by the pretrained model's uncertainty: low confidence, or high "
                                          "disagreement with the noisy map. Check tiles and the noisy dataset's test "
                                          "tiles are never suggested."))
        self.top = spin("noisyseg_suggest_top", 5, 1, 100)
        self.top.setToolTip(tr("How many training tiles to suggest"))
        choose.addWidget(self.check_button, 0, 0)
        choose.addWidget(self.check_count, 0, 1)
        choose.addWidget(self.suggest_button, 1, 0)
        choose.addWidget(self.top, 1, 1)
        choose.setColumnStretch(0, 1)
        layout.addLayout(choose)
        from ..vector_results import AreaOfInterest

        self.aoi = AreaOfInterest("noisyseg_suggest_aoi")
        limits = form()
        limits.addRow(tr("Limit to polygons"), self.aoi)
        layout.addLayout(limits)

        grid = QGridLayout()
        grid.addWidget(self._button(tr("Prefill selected tiles"), "noisyseg_prefill", self.prefill_selected), 0, 0)
        grid.addWidget(self._button(tr("Edit clean labels"), "noisyseg_edit", self.start_editing), 0, 1)
        grid.addWidget(self._button(tr("Mark done"), "noisyseg_mark_done", lambda: self.mark_selected(True)), 1, 0)
        grid.addWidget(self._button(tr("Mark not done"), "noisyseg_mark_not_done", lambda: self.mark_selected(False)), 1, 1)
        for column in (0, 1):
            grid.itemAtPosition(1, column).widget().setToolTip(tr("The selected tiles, or else the tile shown"))
        layout.addLayout(grid)

        layout.addWidget(wrapped(tr("Tile by tile: each tile to correct is zoomed to and outlined; its noisy labels are "
                                    "prefilled. Every edit is saved to the GeoPackage as it is made; Undo takes "
                                    "the last one back.")))
        nav = QGridLayout()  # two by two: the four fit the dock's default width
        self.previous_button = self._button(tr("◀ Previous"), "noisyseg_previous_tile", self.previous_tile)
        self.next_button = self._button(tr("Next ▶"), "noisyseg_next_tile", self.next_tile)
        self.done_next_button = self._button(tr("Done, next"), "noisyseg_done_next", self.done_next)
        self.undo_button = self._button(tr("Undo"), "noisyseg_undo_edit", self.undo_edit)
        self.undo_button.setToolTip(tr("Takes back the last edit of the clean labels (it was saved as it was made)."))
        for index, button in enumerate((self.previous_button, self.next_button, self.done_next_button,
                                        self.undo_button)):
            nav.addWidget(button, index // 2, index % 2)
        layout.addLayout(nav)
        self.tile_label = wrapped("")
        self.tile_label.setObjectName("noisyseg_current_tile")
        layout.addWidget(self.tile_label)
        self.palette_label = wrapped(tr("Set the class of the selected polygons (or press its number):"))
        layout.addWidget(self.palette_label)
        self.palette = QGridLayout()
        layout.addLayout(self.palette)
        self._palette_classes: list = []

        self.counter = wrapped("")
        self.counter.setObjectName("noisyseg_done_counter")
        layout.addWidget(self.counter)
        layout.addStretch(1)

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def restore(self, state) -> None:
        self._attach_saver(None)
        self.package = None
        self.current_tile = None
        self._clear_band()
        self.refresh()

    def shutdown(self) -> None:
        self._clear_band()
        self._attach_saver(None)

    def _attach_saver(self, layer) -> None:
        """Edits of the clean layer are saved as they are made (annotation.AutoSaver)."""
        if self._saver is not None and self._saver.layer is layer:
            return
        if self._saver is not None:
            self._saver.disconnect()
        self._saver = None if layer is None else annotation.AutoSaver(
            layer, on_error=lambda message: self.dock.show_message(message, Qgis.MessageLevel.Critical))

    def undo_edit(self) -> bool:
        if self._saver is None or not self._saver.undo():
            self.dock.show_message(tr("No edit of the clean labels to undo."), Qgis.MessageLevel.Info)
            return False
        self.refresh()
        return True

    def refresh(self) -> None:
        package = self.current_package()
        if package is None:
            self.counter.setText(tr("No clean-label layer yet: export a dataset first."))
        else:
            check_done = len(annotation.check_tile_ids(package, done=True))
            check_all = len(annotation.check_tile_ids(package))
            self.counter.setText(tr("Training tiles done: {train} · check tiles done: {check} of {checks} "
                                    "(of {tiles} tiles)").format(train=len(annotation.training_done_ids(package)),
                                                                check=check_done, checks=check_all,
                                                                tiles=annotation.tile_count(package)))
            if not check_done:
                self.counter.setText(self.counter.text() + "\n" + tr(
                    "Draw and correct check tiles before the first fine-tune: the models are scored on them."))
            self._fill_palette()
            self._attach_saver(package.labels)
        has_model = bool(self._model_path())
        self.suggest_button.setEnabled(has_model and package is not None and not self.dock.runner.busy)
        self._show_current_label()

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

    def _ensure_labels_layer(self, package) -> None:
        if not any(layer.source() == package.labels.source() for layer in QgsProject.instance().mapLayers().values()):
            package.labels = add_vector(QgsProject.instance(), package.labels, group(QgsProject.instance(), GROUP))
        self._attach_saver(package.labels)

    def _model_path(self) -> Optional[str]:
        run = self.dock.pretrain_step.selected_run()
        if run and run["complete"] and (Path(run["path"]) / "model.onnx").is_file():
            return str(Path(run["path"]) / "model.onnx")
        return None

    # -- check tiles ------------------------------------------------------------------------------
    def draw_check_tiles(self) -> list[str]:
        package = self.current_package() or self.open_package()
        if package is None:
            return []
        chosen = annotation.add_check_tiles(package, self.state["dataset"], self.check_count.value())
        if not chosen:
            self.dock.show_message(tr("No tile is left to draw as a check tile."), Qgis.MessageLevel.Warning)
            return []
        self._ensure_labels_layer(package)
        annotation.prefill_tiles(package, self.state["dataset"], chosen)
        self.dock.set_status(tr("Drew {} check tiles at random over the image and prefilled them; correct them "
                                "tile by tile (Next ▶).").format(len(chosen)))
        self.refresh()
        chosen = [tile_id for tile_id in self.queue() if tile_id in set(chosen)]  # in the order Next ▶ visits them
        self.show_tile(chosen[0])
        return chosen

    # -- suggestions ------------------------------------------------------------------------------
    def suggest(self) -> bool:
        package, model = self.current_package(), self._model_path()
        if package is None or model is None:
            self.dock.show_message(tr("Pretrain a model first (step 2)."), Qgis.MessageLevel.Warning)
            return False
        try:
            tiles = len(annotation.open_dataset(self.state["dataset"]).tiles)
        except annotation.AnnotationError as exc:
            self.dock.show_message(str(exc), Qgis.MessageLevel.Critical)
            return False
        wanted = self.top.value()

        def suggested(outputs: dict) -> None:
            excluded = set(annotation.check_tile_ids(package)) | set(annotation.done_tile_ids(package))
            ranked = [entry for entry in outputs["suggestions"]
                      if entry["tile_id"] not in excluded and entry.get("split") != "test"][:wanted]
            scores = {entry["tile_id"]: entry["score"] for entry in ranked}
            annotation.set_scores(package, scores)
            self.dock.set_status(tr("Suggested {} training tiles (check tiles and test tiles left out); prefill "
                                    "and correct them tile by tile.").format(len(scores)))
            if scores:
                self._ensure_labels_layer(package)
                annotation.prefill_tiles(package, self.state["dataset"], list(scores))
                self.refresh()
                self.show_tile(ranked[0]["tile_id"])

        ok, aoi = self.aoi.source(self.dock.show_message)
        if not ok:
            return False
        # every tile is ranked: the filter above drops check, done and test tiles, then keeps the top ones
        options = SuggestOptions(model=str(model), data=str(self.state["dataset"]), top=max(tiles, 1), aoi=aoi,
                                 nodata=self.dock.data_step.nodata_option())
        return self.dock.run([Step(tr("Ranking tiles by the model's uncertainty"), command_argv(options), suggested)])

    # -- editing ------------------------------------------------------------------------------
    def prefill_selected(self) -> int:
        package = self.current_package() or self.open_package()
        if package is None:
            return 0
        tile_ids = annotation.selected_tile_ids(package)
        if not tile_ids and self.current_tile:
            tile_ids = [self.current_tile]
        if not tile_ids:
            self.dock.show_message(tr("Select tiles on the “tiles” layer first (or press Suggest training tiles)."),
                                   Qgis.MessageLevel.Warning)
            return 0
        self._ensure_labels_layer(package)
        added = annotation.prefill_tiles(package, self.state["dataset"], tile_ids)
        self.dock.show_message(tr("Added {} noisy-label polygons to {} tiles; tiles that already had clean labels "
                                  "were left as they are.").format(added, len(tile_ids)), Qgis.MessageLevel.Info)
        self.refresh()
        return added

    def start_editing(self) -> None:
        package = self.current_package() or self.open_package()
        if package is None:
            return
        self._ensure_labels_layer(package)
        self.dock.iface.setActiveLayer(package.labels)
        package.labels.startEditing()

    def mark_selected(self, done: bool) -> None:
        package = self.current_package()
        if package is None:
            return
        tile_ids = annotation.selected_tile_ids(package)
        if not tile_ids and self.current_tile:
            tile_ids = [self.current_tile]
        annotation.mark_done(package, tile_ids, done)
        self.refresh()

    # -- tile by tile -----------------------------------------------------------------------------
    def queue(self) -> list[str]:
        """The tiles to correct, in order: the check tiles, then the suggested tiles (highest score
        first), then any other tile done by hand."""
        package = self.current_package()
        if package is None:
            return []
        checks = annotation.check_tile_ids(package)
        request = QgsFeatureRequest().setFilterExpression(
            f'"{annotation.SCORE_FIELD}" IS NOT NULL').setFlags(QgsFeatureRequest.Flag.NoGeometry)
        scored = sorted(((-float(f[annotation.SCORE_FIELD]), f[annotation.TILE_ID_FIELD])
                         for f in package.tiles.getFeatures(request)))
        order = checks + [tile_id for _score, tile_id in scored if tile_id not in checks]
        return order + [tile_id for tile_id in annotation.done_tile_ids(package) if tile_id not in order]

    def next_tile(self) -> Optional[str]:
        return self._step(+1)

    def previous_tile(self) -> Optional[str]:
        return self._step(-1)

    def done_next(self) -> Optional[str]:
        """Marks the tile shown done and shows the next tile not done yet."""
        package = self.current_package()
        if package is None or self.current_tile is None:
            return self.next_tile()
        annotation.mark_done(package, [self.current_tile], True)
        queue = self.queue()
        start = queue.index(self.current_tile) if self.current_tile in queue else -1
        done = set(annotation.done_tile_ids(package))
        following = [t for t in queue[start + 1:] + queue[:max(start, 0)] if t not in done]
        self.refresh()
        if not following:
            self._save_edits()
            self.dock.set_status(tr("Every tile in the list is done."))
            return None
        return self.show_tile(following[0])

    def _step(self, direction: int) -> Optional[str]:
        queue = self.queue()
        if not queue:
            self.dock.show_message(tr("No tile to correct yet: draw check tiles or suggest training tiles first."),
                                   Qgis.MessageLevel.Warning)
            return None
        if self.current_tile in queue:
            index = (queue.index(self.current_tile) + direction) % len(queue)
        else:
            index = 0 if direction > 0 else len(queue) - 1
        return self.show_tile(queue[index])

    def show_tile(self, tile_id: str) -> str:
        """Saves the edits so far, zooms the map to the tile and outlines it (no selection fill)."""
        package = self.current_package()
        self._save_edits()
        self.current_tile = tile_id
        feature = next(package.tiles.getFeatures(QgsFeatureRequest().setFilterExpression(
            QgsExpression.createFieldEqualityExpression(annotation.TILE_ID_FIELD, tile_id))))
        package.tiles.removeSelection()
        canvas = self.dock.iface.mapCanvas()
        geometry = feature.geometry()
        to_canvas = QgsCoordinateTransform(package.tiles.crs(), canvas.mapSettings().destinationCrs(),
                                           QgsProject.instance())
        geometry.transform(to_canvas)
        extent = geometry.boundingBox()
        extent.grow(ZOOM_MARGIN * max(extent.width(), extent.height()))
        canvas.setExtent(extent)
        canvas.refresh()
        self._clear_band()
        self._band = QgsRubberBand(canvas, QgsWkbTypes.GeometryType.PolygonGeometry)
        self._band.setStrokeColor(QColor(OUTLINE_COLOUR))
        self._band.setFillColor(QColor(0, 0, 0, 0))
        self._band.setWidth(3)
        self._band.setToGeometry(geometry, None)
        if package.labels.isValid():
            self._attach_saver(package.labels)
            self.dock.iface.setActiveLayer(package.labels)
            if not package.labels.isEditable():
                package.labels.startEditing()  # ready to correct: every edit is saved as it is made
        self._show_current_label()
        return tile_id

    def _show_current_label(self) -> None:
        package = self.package
        if self.current_tile is None or package is None:
            self.tile_label.setText("")
            return
        queue = self.queue()
        kind = tr("check tile") if self.current_tile in annotation.check_tile_ids(package) else tr("training tile")
        state = tr("done") if self.current_tile in annotation.done_tile_ids(package) else tr("to do")
        position = queue.index(self.current_tile) + 1 if self.current_tile in queue else 0
        self.tile_label.setText(tr("Tile {n} of {total}: {tile} ({kind}, {state})").format(
            n=position, total=len(queue), tile=self.current_tile, kind=kind, state=state))

    def _save_edits(self) -> None:
        package = self.package
        if package is None:
            return
        try:
            annotation.commit_edits(package)
        except annotation.AnnotationError as exc:
            self.dock.show_message(str(exc), Qgis.MessageLevel.Critical)

    def _clear_band(self) -> None:
        if self._band is not None:
            self.dock.iface.mapCanvas().scene().removeItem(self._band)
            self._band = None

    # -- class palette ----------------------------------------------------------------------------
    def _fill_palette(self) -> None:
        dataset = self.state["dataset"]
        try:
            classes = annotation.dataset_classes(annotation.open_dataset(dataset)) if dataset else []
        except annotation.AnnotationError:
            classes = []
        if [c["id"] for c in classes] == [c["id"] for c in self._palette_classes]:
            return
        while self.palette.count():
            item = self.palette.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self._palette_classes = classes
        buttons = []
        for cls in classes:
            key = str(int(cls["id"])) if int(cls["id"]) < 10 else ""
            button = QPushButton(f"{key} {cls['name']}" if key else str(cls["name"]))
            button.setObjectName(f"noisyseg_class_{int(cls['id'])}")
            if key:  # the class's digit, from anywhere in the QGIS window (a text field keeps its digits)
                button.setShortcut(QKeySequence(key))
            swatch = QPixmap(14, 14)  # the class colour, as on the map
            swatch.fill(QColor(cls["color"]))
            button.setIcon(QIcon(swatch))
            button.setStyleSheet("QPushButton { text-align: left; padding: 2px 6px; }")
            button.setToolTip(tr("Sets class {} on the selected clean polygons (key {})").format(cls["name"], key)
                              if key else tr("Sets class {} on the selected clean polygons").format(cls["name"]))
            button.clicked.connect(lambda _checked=False, class_id=int(cls["id"]): self.set_class(class_id))
            buttons.append(button)
        # two columns when two buttons fit the narrowest page side by side, else one: no sideways scroll
        columns = 2 if 2 * max((b.sizeHint().width() for b in buttons), default=0) + 6 <= PALETTE_TWO_COLUMNS else 1
        for i, button in enumerate(buttons):
            self.palette.addWidget(button, i // columns, i % columns)

    def set_class(self, class_id: int) -> int:
        """Sets ``class_id`` on the selected polygons of the clean layer (one undo step)."""
        package = self.current_package()
        if package is None:
            return 0
        labels = package.labels
        selected = labels.selectedFeatureIds()
        if not selected:
            self.dock.show_message(tr("Select polygons on the clean-label layer first."), Qgis.MessageLevel.Warning)
            return 0
        if not labels.isEditable():
            labels.startEditing()
        index = labels.fields().indexOf(annotation.CLASS_FIELD)
        labels.beginEditCommand(tr("Set the class of {} polygons").format(len(selected)))
        for fid in selected:
            labels.changeAttributeValue(fid, index, class_id)
        labels.endEditCommand()
        labels.triggerRepaint()
        if self._saver is not None and self._saver.layer is labels:
            self._saver.save()
        return len(selected)


def wrapped(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label
