"""The GeoPackage's schema: creating the file and its two layers, or opening them again (adding
the tiles a re-export brought), with the tiles' polygons from the manifest.

Layer ``clean_labels`` (MultiPolygon; ``class_id`` integer, ``tile_id`` text) holds the clean
polygons, layer ``tiles`` (Polygon; ``tile_id``, ``split`` text, ``done`` 0/1, ``score`` real or
null) one polygon per tile of the noisy dataset (see the package's docstring)."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Mapping

from osgeo import gdal, ogr, osr
from qgis.core import QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureRequest, QgsVectorLayer, QgsWkbTypes

from ...bridge.layers import dataset_crs, tile_polygon
from ...core.dataset import Dataset
from ...spec.names import CLASS_FIELD, CLEAN_LAYER, DONE_FIELD, SCORE_FIELD, SPLIT_FIELD, TILE_ID_FIELD, TILES_LAYER
from .base import (CHECK, AnnotationError, AnnotationPackage, PathLike, _edit_step, _python, _tile_fids, dataset_classes,
                   most_common_class, open_dataset, tr)
from .style import has_class_style, style_clean_layer, style_tiles_layer

CLEAN_FIELDS = {CLASS_FIELD: ogr.OFTInteger, TILE_ID_FIELD: ogr.OFTString}
TILES_FIELDS = {TILE_ID_FIELD: ogr.OFTString, SPLIT_FIELD: ogr.OFTString, DONE_FIELD: ogr.OFTInteger,
                SCORE_FIELD: ogr.OFTReal}


def create_annotation_package(gpkg_path: PathLike, dataset_dir: PathLike) -> AnnotationPackage:
    """Opens the clean-label GeoPackage of the dataset, creating the file or its missing layers.
    Tiles of the dataset that the package lacks (a re-export) are added; existing rows are kept.
    A layer without a style saved in the GeoPackage gets the default one (class colours and names,
    a class drop-down in the form), saved as the GeoPackage's default style."""
    dataset = open_dataset(dataset_dir)
    path = Path(gpkg_path).resolve()
    _create_missing_layers(path, dataset.manifest["crs_wkt"])
    labels = _open_layer(path, CLEAN_LAYER, CLEAN_FIELDS, QgsWkbTypes.GeometryType.PolygonGeometry, dataset)
    tiles = _open_layer(path, TILES_LAYER, TILES_FIELDS, QgsWkbTypes.GeometryType.PolygonGeometry, dataset)
    package = AnnotationPackage(path, labels, tiles)
    _clear_noisy_splits(tiles)
    _add_missing_tiles(tiles, dataset)
    classes = dataset_classes(dataset)
    if not has_class_style(labels, classes):
        style_clean_layer(labels, classes, most_common_class(dataset))
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
    if not _same_crs(layer.crs(), dataset_crs(dataset)):
        raise AnnotationError(tr("Layer {} of {} is in {}, but dataset {} is in {}: this GeoPackage belongs to another "
                                 "dataset, pick a new file").format(name, path, layer.crs().userFriendlyIdentifier(),
                                                                    dataset.root, dataset_crs(dataset).userFriendlyIdentifier()))
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


def clean_layer_uri(package: AnnotationPackage) -> str:
    """``FILE.gpkg:clean_labels``, as the backend's ``--labels`` takes it."""
    return f"{package.path}:{CLEAN_LAYER}"


def tiles_layer_uri(package: AnnotationPackage) -> str:
    """``FILE.gpkg:tiles``, as the backend's ``--tiles`` takes it."""
    return f"{package.path}:{TILES_LAYER}"

