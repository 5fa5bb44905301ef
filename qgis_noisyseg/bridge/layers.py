"""The file the backend reads for a QGIS map layer, and a dataset's CRS and tile polygons."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsCoordinateReferenceSystem, QgsGeometry, QgsMapLayer, QgsPointXY, QgsProviderRegistry,
                       QgsVectorLayer)
from qgis.PyQt.QtCore import QCoreApplication


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegLayers", text)


class NotAFileLayer(ValueError):
    pass


def backend_path(layer: QgsMapLayer) -> tuple[str, bool]:
    """The file the backend reads for ``layer`` (``path``, or ``path:layer`` for one layer of a
    multi-layer vector file), and whether the layer has a filter the backend will not apply."""
    parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source())
    path = parts.get("path")
    if not path or not Path(path).exists():
        raise NotAFileLayer(tr("Layer “{}” is not a file the backend can read; save it as a GeoPackage, "
                               "Shapefile or GeoTIFF first").format(layer.name()))
    layer_name = parts.get("layerName") if isinstance(layer, QgsVectorLayer) else None
    return (f"{path}:{layer_name}" if layer_name else path), bool(parts.get("subset"))


def dataset_crs(dataset) -> QgsCoordinateReferenceSystem:
    """The CRS of a ``core.dataset.Dataset`` (its manifest's WKT), in which its tiles' polygons lie."""
    return QgsCoordinateReferenceSystem.fromWkt(dataset.manifest["crs_wkt"])


def tile_polygon(tile: dict) -> QgsGeometry:
    """The tile's footprint in the dataset's CRS, from its affine transform and window size."""
    a, b, c, d, e, f = tile["transform"]
    width, height = tile["window"]["width"], tile["window"]["height"]
    corners = [(0, 0), (width, 0), (width, height), (0, height), (0, 0)]
    return QgsGeometry.fromPolygonXY([[QgsPointXY(a * col + b * row + c, d * col + e * row + f)
                                       for col, row in corners]])
