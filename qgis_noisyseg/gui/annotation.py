"""The clean-label GeoPackage: the operator's corrections, edited with QGIS's own tools.

Layer ``clean_labels`` (MultiPolygon; ``class_id`` integer, ``tile_id`` text) holds the clean
polygons, layer ``tiles`` (Polygon; ``tile_id``, ``split`` text, ``done`` 0/1, ``score`` real or
null) one polygon per tile of the noisy dataset. ``split`` is the tile's role in the clean
dataset: ``check`` for a check tile (drawn at random, scored on, never trained on: see
core/check_tiles.py), ``train`` or ``val`` once ``noisyseg clean`` has put a done tile there,
empty for a tile not used. Both are in the dataset's CRS; ``noisyseg clean``
reads them as ``FILE.gpkg:clean_labels`` and ``FILE.gpkg:tiles``.

Nothing here deletes or overwrites a feature: opening a package again only adds the tiles it
lacks, prefilling skips tiles that already hold clean polygons, and every change made while the
operator edits a layer goes into their edit session as one undo step.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Optional, Union

import numpy as np
from osgeo import gdal, ogr, osr
from qgis.core import (NULL, QgsCategorizedSymbolRenderer, QgsCoordinateReferenceSystem, QgsDefaultValue,
                       QgsEditorWidgetSetup, QgsExpression, QgsFeature, QgsFeatureRequest, QgsFieldConstraints,
                       QgsFillSymbol, QgsGeometry, QgsLinePatternFillSymbolLayer, QgsPointXY, QgsProject,
                       QgsProviderRegistry, QgsRendererCategory, QgsRuleBasedRenderer,
                       QgsVectorLayer, QgsWkbTypes)
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QColor

from ..spec.names import (CLASS_FIELD, CLEAN_LAYER, DONE_FIELD, IGNORE, SCORE_FIELD, SPLIT_FIELD,  # noqa: F401
                          TILE_ID_FIELD, TILES_LAYER)


CHECK = "check"  # the split of a check tile, as noisyseg clean reads it
CLEAN_FIELDS = {CLASS_FIELD: ogr.OFTInteger, TILE_ID_FIELD: ogr.OFTString}
TILES_FIELDS = {TILE_ID_FIELD: ogr.OFTString, SPLIT_FIELD: ogr.OFTString, DONE_FIELD: ogr.OFTInteger,
                SCORE_FIELD: ogr.OFTReal}
FILL_ALPHA = 60  # a light fill: the image shows through the polygons being corrected
TODO_COLOUR = "#00e5ff"
DONE_COLOUR = "#2ca02c"
CHECK_COLOUR = "#e040fb"

PathLike = Union[str, os.PathLike]


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegAnnotation", text)


class AnnotationError(Exception):
    """A problem the operator can fix; the message says which and how."""


@dataclass
class AnnotationPackage:
    """The GeoPackage and its two layers (ogr provider). The panel may swap a layer for the
    project's layer of the same source; every function here works on whichever it holds."""

    path: Path
    labels: QgsVectorLayer
    tiles: QgsVectorLayer


@dataclass(frozen=True)
class Dataset:
    """What the annotation needs of a noisy dataset's manifest."""

    root: Path
    manifest: dict

    @classmethod
    def open(cls, dataset_dir: PathLike) -> "Dataset":
        root = Path(dataset_dir)
        try:
            manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AnnotationError(tr("{} is not a noisyseg dataset folder (manifest.json: {})").format(root, exc)) from None
        if manifest.get("format") != "noisyseg-dataset":
            raise AnnotationError(tr("{} is not a noisyseg dataset folder").format(root))
        return cls(root, manifest)

    @property
    def classes(self) -> list[dict]:
        return sorted(self.manifest["classes"], key=lambda c: int(c["id"]))

    @property
    def ignore_index(self) -> int:
        return int(self.manifest.get("ignore_index", IGNORE))

    @property
    def tiles(self) -> list[dict]:
        return self.manifest["tiles"]

    def tile(self, tile_id: str) -> dict:
        for tile in self.tiles:
            if tile["id"] == tile_id:
                return tile
        raise AnnotationError(tr("Tile {} is not in dataset {}").format(tile_id, self.root))

    def crs(self) -> QgsCoordinateReferenceSystem:
        return QgsCoordinateReferenceSystem.fromWkt(self.manifest["crs_wkt"])

    def most_common_class(self) -> int:
        """The class with the most pixels in the noisy masks (0 when they hold none)."""
        pixels: Counter = Counter()
        for tile in self.tiles:
            pixels.update({int(k): int(v) for k, v in tile.get("class_histogram", {}).items()})
        return pixels.most_common(1)[0][0] if pixels else 0


def tile_polygon(tile: dict) -> QgsGeometry:
    """The tile's footprint in the dataset's CRS, from its affine transform and window size."""
    a, b, c, d, e, f = tile["transform"]
    width, height = tile["window"]["width"], tile["window"]["height"]
    corners = [(0, 0), (width, 0), (width, height), (0, height), (0, 0)]
    return QgsGeometry.fromPolygonXY([[QgsPointXY(a * col + b * row + c, d * col + e * row + f)
                                       for col, row in corners]])


def create_annotation_package(gpkg_path: PathLike, dataset_dir: PathLike) -> AnnotationPackage:
    """Opens the clean-label GeoPackage of the dataset, creating the file or its missing layers.
    Tiles of the dataset that the package lacks (a re-export) are added; existing rows are kept.
    A layer without a style saved in the GeoPackage gets the default one (class colours and names,
    a class drop-down in the form), saved as the GeoPackage's default style."""
    dataset = Dataset.open(dataset_dir)
    path = Path(gpkg_path).resolve()
    _create_missing_layers(path, dataset.manifest["crs_wkt"])
    labels = _open_layer(path, CLEAN_LAYER, CLEAN_FIELDS, QgsWkbTypes.GeometryType.PolygonGeometry, dataset)
    tiles = _open_layer(path, TILES_LAYER, TILES_FIELDS, QgsWkbTypes.GeometryType.PolygonGeometry, dataset)
    package = AnnotationPackage(path, labels, tiles)
    _clear_noisy_splits(tiles)
    _add_missing_tiles(tiles, dataset)
    if not has_class_style(labels, dataset.classes):
        style_clean_layer(labels, dataset.classes, dataset.most_common_class())
        _save_default_style(labels)
    if tiles.listStylesInDatabase()[0] <= 0:
        style_tiles_layer(tiles)
        _save_default_style(tiles)
    for layer in (labels, tiles):
        layer.reload()  # QGIS 3.22: a layer opened before its sibling's first edit cannot count its features
    return package


def _create_missing_layers(path: Path, crs_wkt: str) -> None:
    """Creates the GeoPackage with both layers under a temporary name, renamed when complete, or
    adds the layers that an existing GeoPackage lacks. Existing layers are never touched."""
    srs = osr.SpatialReference()
    if srs.ImportFromWkt(crs_wkt) != 0:
        raise AnnotationError(tr("The dataset's CRS cannot be read: {}").format(crs_wkt[:80]))
    if path.exists():
        if not _missing_layers(path):
            return
        source = ogr.Open(str(path), 1)
        if source is None:
            raise AnnotationError(tr("Cannot write to {}: {}").format(path, gdal.GetLastErrorMsg()))
        _create_layers(source, srs, path)
        source = None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.partial.gpkg")
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(partial))
    if source is None:
        raise AnnotationError(tr("Cannot create {}: {}").format(path, gdal.GetLastErrorMsg()))
    try:
        _create_layers(source, srs, path)
        source = None
        os.replace(partial, path)
    finally:
        source = None
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _layer_names(source: ogr.DataSource) -> set[str]:
    return {source.GetLayerByIndex(i).GetName() for i in range(source.GetLayerCount())}


def _missing_layers(path: Path) -> set[str]:
    source = ogr.Open(str(path), 0)
    if source is None or source.GetDriver().GetName() != "GPKG":
        raise AnnotationError(tr("{} exists and is not a GeoPackage; pick another file name").format(path))
    missing = {CLEAN_LAYER, TILES_LAYER} - _layer_names(source)
    source = None
    return missing


def _create_layers(source: ogr.DataSource, srs: osr.SpatialReference, path: Path) -> None:
    existing = _layer_names(source)
    for name, geometry_type, fields in ((CLEAN_LAYER, ogr.wkbMultiPolygon, CLEAN_FIELDS),
                                        (TILES_LAYER, ogr.wkbPolygon, TILES_FIELDS)):
        if name in existing:
            continue
        layer = source.CreateLayer(name, srs, geometry_type, ["GEOMETRY_NAME=geom", "FID=fid"])
        if layer is None:
            raise AnnotationError(tr("Cannot create layer {} in {}: {}").format(name, path, gdal.GetLastErrorMsg()))
        for field_name, field_type in fields.items():
            definition = ogr.FieldDefn(field_name, field_type)
            if field_name == DONE_FIELD:
                definition.SetDefault("0")
                definition.SetNullable(False)
            if layer.CreateField(definition) != 0:
                raise AnnotationError(tr("Cannot create field {} in {}: {}").format(field_name, path,
                                                                                     gdal.GetLastErrorMsg()))


def _open_layer(path: Path, name: str, fields: Mapping[str, int], geometry: int, dataset: Dataset) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
    if not layer.isValid():
        raise AnnotationError(tr("QGIS cannot open layer {} of {}").format(name, path))
    missing = [field for field in fields if layer.fields().indexOf(field) < 0]
    if missing:
        raise AnnotationError(tr("Layer {} of {} lacks the fields {}; it was not made for clean labels, pick another "
                                 "GeoPackage").format(name, path, ", ".join(missing)))
    if layer.geometryType() != geometry:
        raise AnnotationError(tr("Layer {} of {} does not hold polygons; pick another GeoPackage").format(name, path))
    if not _same_crs(layer.crs(), dataset.crs()):
        raise AnnotationError(tr("Layer {} of {} is in {}, but dataset {} is in {}: this GeoPackage belongs to another "
                                 "dataset, pick a new file").format(name, path, layer.crs().userFriendlyIdentifier(),
                                                                    dataset.root, dataset.crs().userFriendlyIdentifier()))
    return layer


def _same_crs(first: QgsCoordinateReferenceSystem, second: QgsCoordinateReferenceSystem) -> bool:
    return first == second or (first.authid() != "" and first.authid() == second.authid()) \
        or first.toProj() == second.toProj()


def _add_missing_tiles(tiles: QgsVectorLayer, dataset: Dataset) -> int:
    present = set(_tile_fids(tiles))
    fields = tiles.fields()
    features = []
    for tile in dataset.tiles:
        if tile["id"] in present:
            continue
        feature = QgsFeature(fields)
        feature.setGeometry(tile_polygon(tile))
        feature[TILE_ID_FIELD] = tile["id"]
        feature[SPLIT_FIELD] = ""
        feature[DONE_FIELD] = 0
        features.append(feature)
    if features:
        with _edit_step(tiles, tr("Add the dataset's tiles")):
            if not tiles.addFeatures(features):
                raise AnnotationError(tr("Cannot add tiles to {}").format(tiles.source()))
    return len(features)


def _clear_noisy_splits(tiles: QgsVectorLayer) -> None:
    """A package made before check tiles held the noisy dataset's split in ``split``, which the
    layer showed as if it were the clean one: it is cleared (check tiles are kept)."""
    request = QgsFeatureRequest().setFilterExpression(f'"{SPLIT_FIELD}" = \'test\'')
    request.setLimit(1)
    if not any(True for _ in tiles.getFeatures(request)):
        return
    index = tiles.fields().indexOf(SPLIT_FIELD)
    with _edit_step(tiles, tr("Clear the noisy dataset's splits")):
        for feature in tiles.getFeatures(QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry)):
            if _python(feature[SPLIT_FIELD]) not in (None, "", CHECK):
                tiles.changeAttributeValue(feature.id(), index, "")


def _save_default_style(layer: QgsVectorLayer) -> None:
    error = layer.saveStyleToDatabase(layer.name(), tr("noisyseg default style"), True, "")
    if error:
        raise AnnotationError(tr("Cannot save the style of {} into the GeoPackage: {}").format(layer.name(), error))


@contextlib.contextmanager
def _edit_step(layer: QgsVectorLayer, description: str) -> Iterator[None]:
    """One undo step. In the operator's edit session the change stays in it, to be saved or undone
    with the rest; otherwise it is written to the file at once."""
    editing = layer.isEditable()
    if not editing and not layer.startEditing():
        raise AnnotationError(tr("Layer {} cannot be edited").format(layer.name()))
    layer.beginEditCommand(description)
    try:
        yield
    except BaseException:
        layer.destroyEditCommand()
        if not editing:
            layer.rollBack()
        raise
    layer.endEditCommand()
    if not editing and not layer.commitChanges():
        errors = "; ".join(layer.commitErrors())
        layer.rollBack()
        raise AnnotationError(tr("Cannot save layer {}: {}").format(layer.name(), errors))


def _tile_fids(tiles: QgsVectorLayer) -> dict[str, int]:
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry).setSubsetOfAttributes([TILE_ID_FIELD],
                                                                                                    tiles.fields())
    return {feature[TILE_ID_FIELD]: feature.id() for feature in tiles.getFeatures(request)}


def _fids_of(tiles: QgsVectorLayer, tile_ids: Iterable[str]) -> dict[str, int]:
    fids = _tile_fids(tiles)
    unknown = [tile_id for tile_id in tile_ids if tile_id not in fids]
    if unknown:
        raise AnnotationError(tr("Tiles {} are not in layer {}").format(", ".join(unknown[:5]), tiles.name()))
    return {tile_id: fids[tile_id] for tile_id in tile_ids}


def prefill_tiles(package: AnnotationPackage, dataset_dir: PathLike, tile_ids: Iterable[str]) -> int:
    """Adds the noisy labels of each tile to the clean layer as polygons (one per connected region
    of a class, ignore pixels left out), clipped to the tile. A tile that already has clean
    polygons (tagged with its id, or untagged ones over it) is left as it is, and where polygons of
    another tile overlap it (tiles with a stride below their size) only the rest is filled. One
    undo step. Returns the number of polygons added."""
    dataset = Dataset.open(dataset_dir)
    labels = package.labels
    tile_fids = _fids_of(package.tiles, dict.fromkeys(tile_ids))
    pending: list[QgsFeature] = []
    for tile_id, fid in tile_fids.items():
        footprint = package.tiles.getFeature(fid).geometry()
        covered = _clean_cover(labels, pending, tile_id, footprint)
        if covered is None:
            continue
        for class_id, polygon in _mask_polygons(dataset, dataset.tile(tile_id)):
            if not footprint.contains(polygon):
                polygon = polygon.intersection(footprint)
            if not covered.isEmpty():
                polygon = polygon.difference(covered)
            polygon = _polygonal(polygon)
            if polygon is None:
                continue
            feature = QgsFeature(labels.fields())
            feature.setGeometry(polygon)
            feature[CLASS_FIELD] = class_id
            feature[TILE_ID_FIELD] = tile_id
            pending.append(feature)
    if pending:
        with _edit_step(labels, tr("Prefill {} tiles with the noisy labels").format(len(tile_fids))):
            if not labels.addFeatures(pending):
                raise AnnotationError(tr("Cannot add the prefilled polygons to {}").format(labels.name()))
    return len(pending)


def _clean_cover(labels: QgsVectorLayer, pending: list[QgsFeature], tile_id: str,
                 footprint: QgsGeometry) -> Optional[QgsGeometry]:
    """None when the tile already has clean labels; else the union of the other tiles' clean
    polygons that overlap it (empty when none do). Includes unsaved edits and ``pending``."""
    tagged = QgsFeatureRequest().setFilterExpression(QgsExpression.createFieldEqualityExpression(TILE_ID_FIELD, tile_id))
    tagged.setLimit(1)
    tagged.setFlags(QgsFeatureRequest.Flag.NoGeometry)
    if any(True for _ in labels.getFeatures(tagged)):
        return None
    threshold = 1e-6 * footprint.area()
    overlapping = []
    nearby = labels.getFeatures(QgsFeatureRequest().setFilterRect(footprint.boundingBox()))
    for feature in [*nearby, *pending]:
        geometry = feature.geometry()
        if geometry.isNull() or not geometry.intersects(footprint):
            continue
        if geometry.intersection(footprint).area() <= threshold:
            continue
        if not _python(feature[TILE_ID_FIELD]):
            return None
        overlapping.append(geometry)
    return QgsGeometry.unaryUnion(overlapping) if overlapping else QgsGeometry()


def _python(value):
    """None for QGIS's NULL (a QVariant in PyQGIS 3.22), else the value."""
    return None if value == NULL else value


def _polygonal(geometry: QgsGeometry) -> Optional[QgsGeometry]:
    """The polygons of ``geometry`` (an intersection or difference may also hold lines and points)
    as one valid MultiPolygon, or None when nothing of any area is left."""
    if geometry.isNull() or geometry.isEmpty():
        return None
    if not geometry.isGeosValid():
        geometry = geometry.makeValid()
    if geometry.type() != QgsWkbTypes.GeometryType.PolygonGeometry:
        parts = [part for part in geometry.asGeometryCollection() if part.type() == QgsWkbTypes.GeometryType.PolygonGeometry]
        geometry = QgsGeometry.collectGeometry(parts) if parts else QgsGeometry()
    if geometry.isNull() or geometry.isEmpty() or geometry.area() <= 0:
        return None
    geometry.convertToMultiType()
    return geometry


def _mask_polygons(dataset: Dataset, tile: dict) -> Iterator[tuple[int, QgsGeometry]]:
    """(class id, polygon) for each 4-connected region of one class in the tile's noisy mask."""
    path = dataset.root / tile["mask"]
    raster = gdal.Open(str(path))
    if raster is None:
        raise AnnotationError(tr("Cannot read the noisy mask {}").format(path))
    values = raster.GetRasterBand(1).ReadAsArray()
    class_ids = [int(c["id"]) for c in dataset.classes]
    labelled = np.isin(values, class_ids) & (values != dataset.ignore_index)
    memory = gdal.GetDriverByName("MEM").Create("", raster.RasterXSize, raster.RasterYSize, 2, gdal.GDT_Byte)
    memory.SetGeoTransform(raster.GetGeoTransform())
    memory.GetRasterBand(1).WriteArray(values.astype(np.uint8))
    memory.GetRasterBand(2).WriteArray(labelled.astype(np.uint8))
    raster = None
    polygons_source = ogr.GetDriverByName("Memory").CreateDataSource("")
    polygons = polygons_source.CreateLayer("polygons", None, ogr.wkbPolygon)
    polygons.CreateField(ogr.FieldDefn(CLASS_FIELD, ogr.OFTInteger))
    if gdal.Polygonize(memory.GetRasterBand(1), memory.GetRasterBand(2), polygons, 0, [], callback=None) != 0:
        raise AnnotationError(tr("Cannot turn the noisy mask {} into polygons: {}").format(path, gdal.GetLastErrorMsg()))
    for feature in polygons:
        geometry = QgsGeometry()
        geometry.fromWkb(bytes(feature.GetGeometryRef().ExportToWkb()))
        yield int(feature.GetField(0)), geometry


def class_value_map(classes: list[dict]) -> dict:
    """The ValueMap editor widget's configuration: class names shown, class ids stored."""
    return {"map": [{str(c["name"]): str(int(c["id"]))} for c in classes]}


def has_class_style(layer: QgsVectorLayer, classes: list[dict]) -> bool:
    setup = layer.editorWidgetSetup(layer.fields().indexOf(CLASS_FIELD))
    return setup.type() == "ValueMap" and setup.config() == class_value_map(classes)


def style_clean_layer(layer: QgsVectorLayer, classes: list[dict], default_class: int) -> None:
    """Fills in the class colours, a class drop-down in the attribute form that remembers the last
    class entered, and the tile id filled in from the tiles layer of the project."""
    categories = []
    for cls in classes:
        colour = QColor(cls["color"])
        symbol = QgsFillSymbol.createSimple({"color": _rgba(colour, FILL_ALPHA), "style": "solid",
                                             "outline_color": _rgba(colour), "outline_width": "0.6"})
        categories.append(QgsRendererCategory(int(cls["id"]), symbol, str(cls["name"])))
    layer.setRenderer(QgsCategorizedSymbolRenderer(CLASS_FIELD, categories))
    label_with_class_names(layer, CLASS_FIELD, {int(cls["id"]): str(cls["name"]) for cls in classes})

    class_index = layer.fields().indexOf(CLASS_FIELD)
    layer.setEditorWidgetSetup(class_index, QgsEditorWidgetSetup("ValueMap", class_value_map(classes)))
    layer.setDefaultValueDefinition(class_index, QgsDefaultValue(str(int(default_class))))
    layer.setFieldAlias(class_index, tr("Class"))
    layer.setFieldConstraint(class_index, QgsFieldConstraints.Constraint.ConstraintNotNull)
    layer.setConstraintExpression(class_index, f'"{CLASS_FIELD}" >= 0 AND "{CLASS_FIELD}" < {len(classes)}',
                                  tr("A class of the dataset"))
    tile_index = layer.fields().indexOf(TILE_ID_FIELD)
    layer.setFieldAlias(tile_index, tr("Tile"))
    layer.setDefaultValueDefinition(tile_index, QgsDefaultValue(
        f"aggregate(layer:='{TILES_LAYER}', aggregate:='max', expression:=\"{TILE_ID_FIELD}\", "
        f"filter:=intersects($geometry, point_on_surface(geometry(@parent))))"))
    form = layer.editFormConfig()
    form.setReuseLastValue(class_index, True)
    form.setReadOnly(tile_index, True)
    layer.setEditFormConfig(form)


def label_with_class_names(layer: QgsVectorLayer, field: str, names: Mapping) -> None:
    """Class names on the map, one per polygon, with a white halo; shown from 1:25,000 down."""
    from qgis.core import (QgsPalLayerSettings, QgsTextBufferSettings, QgsTextFormat,
                           QgsVectorLayerSimpleLabeling)

    column = QgsExpression.quotedColumnRef(field)
    cases = " ".join(f"WHEN {column} = {QgsExpression.quotedValue(key)} THEN {QgsExpression.quotedString(name)}"
                     for key, name in names.items())  # QGIS has no "CASE x WHEN v": a condition per class
    settings = QgsPalLayerSettings()
    settings.isExpression = True
    settings.fieldName = f"CASE {cases} ELSE to_string({column}) END" if cases else column
    text = QgsTextFormat()
    text.setSize(8)
    halo = QgsTextBufferSettings()
    halo.setEnabled(True)
    halo.setSize(0.8)
    text.setBuffer(halo)
    settings.setFormat(text)
    settings.scaleVisibility = True
    settings.maximumScale = 1
    settings.minimumScale = 25000
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def style_by_class(layer: QgsVectorLayer, field: str, classes: list[dict]) -> int:
    """The old map (a label layer) drawn by class with the class table's colours: one category per
    source value, named after its class. Returns the number of categories."""
    index = layer.fields().indexOf(field)
    if index < 0:
        return 0
    numeric = layer.fields().at(index).isNumeric()
    categories = []
    for cls in classes:
        colour = QColor(cls["color"])
        for value in cls.get("values", []):
            key = value
            if numeric:
                try:
                    key = int(value) if float(value).is_integer() else float(value)
                except (TypeError, ValueError):
                    continue
            symbol = QgsFillSymbol.createSimple({"color": _rgba(colour, 150), "style": "solid",
                                                 "outline_color": _rgba(colour.darker(140)), "outline_width": "0.2"})
            categories.append(QgsRendererCategory(key, symbol, f"{cls['name']} ({value})"))
    if not categories:
        return 0
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))
    layer.triggerRepaint()
    return len(categories)


def _rgba(colour: QColor, alpha: Optional[int] = None) -> str:
    return f"{colour.red()},{colour.green()},{colour.blue()},{colour.alpha() if alpha is None else alpha}"


def style_tiles_layer(layer: QgsVectorLayer) -> None:
    """Outlines for the tiles to do, a green hatch for those done, magenta for check tiles (dashed
    to do, hatched done); ``done`` is a check box and the attribute table lists the highest
    suggestion scores first."""
    def outline(colour: str, width: str, dashed: bool = False) -> QgsFillSymbol:
        return QgsFillSymbol.createSimple({"style": "no", "outline_color": colour, "outline_width": width,
                                           "outline_style": "dash" if dashed else "solid"})

    def hatched(colour: str) -> QgsFillSymbol:
        symbol = outline(colour, "0.8")
        symbol.insertSymbolLayer(0, QgsLinePatternFillSymbolLayer.create({
            "color": colour, "line_color": colour, "lineangle": "45", "distance": "2", "line_width": "0.3"}))
        return symbol

    check = f'"{SPLIT_FIELD}" = \'{CHECK}\''
    root = QgsRuleBasedRenderer.Rule(None)
    root.appendChild(QgsRuleBasedRenderer.Rule(hatched(CHECK_COLOUR), 0, 0, f'{check} AND "{DONE_FIELD}" = 1',
                                               tr("Check tile, done")))
    root.appendChild(QgsRuleBasedRenderer.Rule(outline(CHECK_COLOUR, "0.8", True), 0, 0, check, tr("Check tile, to do")))
    root.appendChild(QgsRuleBasedRenderer.Rule(hatched(DONE_COLOUR), 0, 0, f'"{DONE_FIELD}" = 1', tr("Done")))
    root.appendChild(QgsRuleBasedRenderer.Rule(outline(TODO_COLOUR, "0.5"), 0, 0, "ELSE", tr("To do")))
    layer.setRenderer(QgsRuleBasedRenderer(root))

    fields = layer.fields()
    for name, alias in ((TILE_ID_FIELD, tr("Tile")), (SPLIT_FIELD, tr("Split")), (DONE_FIELD, tr("Done")),
                        (SCORE_FIELD, tr("Suggestion score"))):
        layer.setFieldAlias(fields.indexOf(name), alias)
    layer.setEditorWidgetSetup(fields.indexOf(DONE_FIELD), QgsEditorWidgetSetup(
        "CheckBox", {"CheckedState": "1", "UncheckedState": "0"}))
    form = layer.editFormConfig()
    for name in (TILE_ID_FIELD, SPLIT_FIELD, SCORE_FIELD):
        form.setReadOnly(fields.indexOf(name), True)
    layer.setEditFormConfig(form)
    table = layer.attributeTableConfig()
    table.update(fields)
    table.setSortExpression(f'"{SCORE_FIELD}"')
    table.setSortOrder(Qt.SortOrder.DescendingOrder)
    layer.setAttributeTableConfig(table)


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
    from ..core.check_tiles import draw_check_tiles

    dataset = Dataset.open(dataset_dir)
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


def clean_layer_uri(package: AnnotationPackage) -> str:
    """``FILE.gpkg:clean_labels``, as the backend's ``--labels`` takes it."""
    return f"{package.path}:{CLEAN_LAYER}"


def tiles_layer_uri(package: AnnotationPackage) -> str:
    """``FILE.gpkg:tiles``, as the backend's ``--tiles`` takes it."""
    return f"{package.path}:{TILES_LAYER}"


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
