"""The file the backend reads as an area of interest, from any QGIS polygon layer.

A layer that is a file is read as it is. A layer that is not (a scratch layer where the operator
drew the area, a virtual or a web feature layer), or a file layer with a filter the backend would
not apply, is written first, with QGIS's own ``QgsVectorFileWriter``, into a GeoPackage in QGIS's
temporary folder (removed when QGIS closes), in the layer's CRS: the backend reprojects it.
"""

from __future__ import annotations

from qgis.core import QgsCoordinateTransformContext, QgsProcessingUtils, QgsProject, QgsVectorFileWriter, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication

from .layers import NotAFileLayer, backend_path


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegVectors", text)


def aoi_source(layer: QgsVectorLayer, transform_context: "QgsCoordinateTransformContext | None" = None) -> str:
    """``PATH`` or ``PATH:LAYER`` for ``--aoi``; raises NotAFileLayer when the layer cannot be written."""
    try:
        path, filtered = backend_path(layer)
        if not filtered:
            return path
    except NotAFileLayer:
        pass
    if layer.featureCount() == 0:
        raise NotAFileLayer(tr("Layer “{}” has no polygons to use as the area of interest").format(layer.name()))
    target = QgsProcessingUtils.generateTempFilename("aoi.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "aoi"
    context = transform_context or QgsProject.instance().transformContext()
    result = QgsVectorFileWriter.writeAsVectorFormatV3(layer, target, context, options)
    if result[0] != QgsVectorFileWriter.WriterError.NoError:
        raise NotAFileLayer(tr("Layer “{}” could not be written for the backend: {}").format(layer.name(), result[1]))
    return f"{target}:aoi"
