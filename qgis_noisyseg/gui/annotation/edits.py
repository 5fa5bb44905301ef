"""The operator's progress and the panel's changes to the tiles layer (done, splits, check tiles,
suggestion scores, selection), saving the edits for the backend, and AutoSaver, which saves the
clean layer's edits as they are made."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Optional

from qgis.core import NULL, QgsFeature, QgsFeatureRequest, QgsGeometry, QgsProject, QgsProviderRegistry, QgsVectorLayer

from ...spec.names import DONE_FIELD, SCORE_FIELD, SPLIT_FIELD, TILE_ID_FIELD
from .base import CHECK, AnnotationError, AnnotationPackage, PathLike, _edit_step, _fids_of, _python, open_dataset, tr


def mark_done(package: AnnotationPackage, tile_ids: Iterable[str], done: bool = True) -> int:
    """Sets ``done`` of the tiles; returns how many changed."""
    tiles = package.tiles
    index = tiles.fields().indexOf(DONE_FIELD)
    value = 1 if done else 0
    changes = {}
    for tile_id, fid in _fids_of(tiles, dict.fromkeys(tile_ids)).items():
        if tiles.getFeature(fid)[DONE_FIELD] != value:
            changes[fid] = value
    if changes:
        with _edit_step(tiles, tr("Mark {} tiles done") if done else tr("Mark {} tiles not done")):
            for fid, new_value in changes.items():
                tiles.changeAttributeValue(fid, index, new_value)
    return len(changes)


def done_count(package: AnnotationPackage) -> int:
    return len(done_tile_ids(package))


def tile_count(package: AnnotationPackage) -> int:
    """The number of tiles, counted (QGIS 3.22's featureCount() can be -1 on a GeoPackage layer
    whose sibling layer started editing after it was opened)."""
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry)
    request.setNoAttributes()
    return sum(1 for _ in package.tiles.getFeatures(request))


def done_tile_ids(package: AnnotationPackage) -> list[str]:
    request = QgsFeatureRequest().setFilterExpression(f'"{DONE_FIELD}" = 1').setFlags(QgsFeatureRequest.Flag.NoGeometry)
    return sorted(feature[TILE_ID_FIELD] for feature in package.tiles.getFeatures(request))


def check_tile_ids(package: AnnotationPackage, done: Optional[bool] = None) -> list[str]:
    """The check tiles (all, or those done / not done), sorted."""
    expression = f'"{SPLIT_FIELD}" = \'{CHECK}\''
    if done is not None:
        expression += f' AND "{DONE_FIELD}" = {1 if done else 0}'
    request = QgsFeatureRequest().setFilterExpression(expression).setFlags(QgsFeatureRequest.Flag.NoGeometry)
    return sorted(feature[TILE_ID_FIELD] for feature in package.tiles.getFeatures(request))


def training_done_ids(package: AnnotationPackage) -> list[str]:
    """The tiles done that are no check tiles: those the model trains on."""
    return sorted(set(done_tile_ids(package)) - set(check_tile_ids(package)))


def set_splits(package: AnnotationPackage, splits: Mapping[str, str]) -> int:
    """Writes the tiles' clean splits (``noisyseg clean``'s ``tile_splits``: test is shown as
    ``check``); returns how many changed. One undo step."""
    tiles = package.tiles
    index = tiles.fields().indexOf(SPLIT_FIELD)
    changes = {}
    for tile_id, fid in _fids_of(tiles, dict(splits)).items():
        value = CHECK if splits[tile_id] == "test" else splits[tile_id]
        if _python(tiles.getFeature(fid)[SPLIT_FIELD]) != value:
            changes[fid] = value
    if changes:
        with _edit_step(tiles, tr("Record the clean splits")):
            for fid, value in changes.items():
                tiles.changeAttributeValue(fid, index, value)
    return len(changes)


def add_check_tiles(package: AnnotationPackage, dataset_dir: PathLike, count: int, seed: int = 0) -> list[str]:
    """Draws ``count`` more check tiles (core/check_tiles.py), never one already done or already
    a check tile, and marks them ``check``. Returns their ids, in the order drawn."""
    from ...core.check_tiles import draw_check_tiles

    dataset = open_dataset(dataset_dir)
    taken = set(check_tile_ids(package)) | set(done_tile_ids(package))
    chosen = draw_check_tiles(dataset.manifest, count, exclude=taken, seed=seed + len(taken))
    if chosen:
        set_splits(package, {tile_id: CHECK for tile_id in chosen})
    return chosen


def set_scores(package: AnnotationPackage, scores: Mapping[str, float]) -> None:
    """Records one ranking of the tiles: the tiles in ``scores`` get theirs, every other tile
    none, so scores of an older ranking do not linger."""
    tiles = package.tiles
    index = tiles.fields().indexOf(SCORE_FIELD)
    fids = _fids_of(tiles, scores)
    wanted = {fid: float(scores[tile_id]) for tile_id, fid in fids.items()}
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry).setSubsetOfAttributes([SCORE_FIELD],
                                                                                                    tiles.fields())
    changes = {}
    for feature in tiles.getFeatures(request):
        score = wanted.get(feature.id())
        if _python(feature[SCORE_FIELD]) != score:
            changes[feature.id()] = score
    if changes:
        with _edit_step(tiles, tr("Set the suggestion scores")):
            for fid, value in changes.items():
                tiles.changeAttributeValue(fid, index, value)


def selected_tile_ids(package: AnnotationPackage) -> list[str]:
    return sorted(feature[TILE_ID_FIELD] for feature in package.tiles.selectedFeatures())


def select_tiles(package: AnnotationPackage, tile_ids: Iterable[str]) -> None:
    """Selects exactly these tiles on the tiles layer."""
    package.tiles.selectByIds(list(_fids_of(package.tiles, dict.fromkeys(tile_ids)).values()))


def commit_edits(package: AnnotationPackage, project: Optional[QgsProject] = None) -> None:
    """Saves the pending edits of every layer on the GeoPackage (the package's two, and any other
    in the project) so that the backend reads what the operator sees; the layers stay in editing
    mode. Raises AnnotationError with QGIS's messages when a layer cannot be saved; its edits then
    stay in its edit buffer."""
    project = project or QgsProject.instance()
    layers = {layer.id(): layer for layer in (package.labels, package.tiles)}
    for layer in project.mapLayers().values():
        if isinstance(layer, QgsVectorLayer) and _layer_file(layer) == package.path:
            layers[layer.id()] = layer
    failures = []
    for layer in layers.values():
        if layer.isEditable() and layer.isModified() and not layer.commitChanges(False):
            failures.append(f"{layer.name()}: {'; '.join(layer.commitErrors())}")
    if failures:
        raise AnnotationError(tr("Cannot save the clean labels: {}").format(" | ".join(failures)))


def _layer_file(layer: QgsVectorLayer) -> Optional[Path]:
    path = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source()).get("path")
    return Path(path).resolve() if path else None


class AutoSaver:
    """Saves a layer's edits to its GeoPackage as they are made, so that closing or killing QGIS
    mid-edit loses nothing, and keeps each save's inverse so that :meth:`undo` takes the last saved
    edit back (QGIS clears its own undo stack on every save).

    A change schedules a save for when the event loop is next idle, so one edit command (a polygon
    drawn, split or reshaped) is one save and one undo step."""

    def __init__(self, layer: QgsVectorLayer, on_error=None) -> None:
        from qgis.PyQt.QtCore import QTimer

        self.layer = layer
        self.on_error = on_error
        self.steps: list[dict] = []
        self._applying = False
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.save)
        layer.layerModified.connect(self._schedule)

    def disconnect(self) -> None:
        self._timer.stop()
        try:
            self.layer.layerModified.disconnect(self._schedule)
        except (RuntimeError, TypeError):
            pass

    def _schedule(self) -> None:
        if not self._applying:
            self._timer.start()

    def _provider_ids(self) -> set:
        request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry).setNoAttributes()
        return {feature.id() for feature in self.layer.dataProvider().getFeatures(request)}

    def save(self) -> bool:
        """Writes the pending edits (the layer stays in editing mode); False, with on_error called,
        when the GeoPackage refuses them (they then stay in the edit buffer)."""
        layer = self.layer
        try:
            if self._applying or not layer.isValid() or not (layer.isEditable() and layer.isModified()):
                return True
        except RuntimeError:  # the layer was deleted (project closed): nothing left to save
            return True
        buffer = layer.editBuffer()
        deleted = [fid for fid in buffer.deletedFeatureIds() if fid >= 0]
        geometries = [fid for fid in buffer.changedGeometries() if fid >= 0 and fid not in deleted]
        attributes = {fid: list(changes) for fid, changes in buffer.changedAttributeValues().items()
                      if fid >= 0 and fid not in deleted}
        wanted = set(deleted) | set(geometries) | set(attributes)
        originals = {}
        if wanted:
            for feature in layer.dataProvider().getFeatures(QgsFeatureRequest().setFilterFids(list(wanted))):
                originals[feature.id()] = QgsFeature(feature)
        before = self._provider_ids() if buffer.addedFeatures() else None
        if not layer.commitChanges(False):
            if self.on_error is not None:
                self.on_error(tr("Cannot save the clean labels: {}").format("; ".join(layer.commitErrors())))
            return False
        step = {
            "delete": sorted(self._provider_ids() - before) if before is not None else [],
            "restore": [originals[fid] for fid in deleted if fid in originals],
            "geometry": {fid: QgsGeometry(originals[fid].geometry()) for fid in geometries if fid in originals},
            "attributes": {fid: {index: originals[fid].attribute(index) for index in indexes}
                           for fid, indexes in attributes.items() if fid in originals},
        }
        if any(step.values()):
            self.steps.append(step)
        return True

    def undo(self) -> bool:
        """Takes back the last saved edit (saving any pending one first); False when there is none."""
        self._timer.stop()
        if not self.save() or not self.steps:
            return False
        step = self.steps.pop()
        layer = self.layer
        editing = layer.isEditable()
        self._applying = True
        try:
            if not editing:
                layer.startEditing()
            layer.beginEditCommand(tr("Undo the last saved edit"))
            for fid in step["delete"]:
                layer.deleteFeature(fid)
            fid_index = layer.dataProvider().pkAttributeIndexes()
            for original in step["restore"]:
                feature = QgsFeature(layer.fields())
                attributes = original.attributes()
                for index in fid_index:
                    attributes[index] = NULL
                feature.setAttributes(attributes)
                feature.setGeometry(original.geometry())
                layer.addFeature(feature)
            for fid, geometry in step["geometry"].items():
                layer.changeGeometry(fid, geometry)
            for fid, values in step["attributes"].items():
                for index, value in values.items():
                    layer.changeAttributeValue(fid, index, value)
            layer.endEditCommand()
            saved = layer.commitChanges(not editing)
        finally:
            self._applying = False
        if not saved and self.on_error is not None:
            self.on_error(tr("Cannot save the clean labels: {}").format("; ".join(layer.commitErrors())))
        layer.triggerRepaint()
        return saved
