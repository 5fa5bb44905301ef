"""Prefill: the noisy labels of a tile turned into clean-layer polygons for the operator to
correct, never over clean polygons already there."""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

import numpy as np
from osgeo import gdal, ogr
from qgis.core import QgsExpression, QgsFeature, QgsFeatureRequest, QgsGeometry, QgsVectorLayer, QgsWkbTypes

from ...core.dataset import Dataset
from ...spec.names import CLASS_FIELD, TILE_ID_FIELD
from .base import (AnnotationError, AnnotationPackage, PathLike, _edit_step, _fids_of, _python, dataset_classes,
                   dataset_tile, open_dataset, tr)


def prefill_tiles(package: AnnotationPackage, dataset_dir: PathLike, tile_ids: Iterable[str]) -> int:
    """Adds the noisy labels of each tile to the clean layer as polygons (one per connected region
    of a class, ignore pixels left out), clipped to the tile. A tile that already has clean
    polygons (tagged with its id, or untagged ones over it) is left as it is, and where polygons of
    another tile overlap it (tiles with a stride below their size) only the rest is filled. One
    undo step. Returns the number of polygons added."""
    dataset = open_dataset(dataset_dir)
    labels = package.labels
    tile_fids = _fids_of(package.tiles, dict.fromkeys(tile_ids))
    pending: list[QgsFeature] = []
    for tile_id, fid in tile_fids.items():
        footprint = package.tiles.getFeature(fid).geometry()
        covered = _clean_cover(labels, pending, tile_id, footprint)
        if covered is None:
            continue
        for class_id, polygon in _mask_polygons(dataset, dataset_tile(dataset, tile_id)):
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
    class_ids = [int(c["id"]) for c in dataset_classes(dataset)]
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
