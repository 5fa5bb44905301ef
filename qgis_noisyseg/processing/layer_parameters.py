"""Processing parameters and arguments for layers: a layer as the file the backend reads, any
raster layer as imagery (a layer that is not a file is rendered into a GeoTIFF first, see
bridge/render_layer.py), an area of interest, and vector outputs. Used by the algorithms of
algorithms.py, vector_algorithms.py and suggest_algorithm.py (their BackendAlgorithm, whose
``add`` and ``add_number`` these call); imports none of them."""

from __future__ import annotations

from qgis.core import (QgsMapLayer, QgsProcessing, QgsProcessingAlgorithm, QgsProcessingException,
                       QgsProcessingParameterNumber, QgsProcessingParameterVectorDestination,
                       QgsProcessingParameterVectorLayer, QgsProcessingUtils, QgsRasterBlockFeedback)

from ..bridge.layers import NotAFileLayer, backend_path
from ..bridge.aoi_layer import aoi_source
from ..bridge.render_layer import RenderError, extent_in, ground_crs, is_file_layer, render_layer
from .runner import tr

__all__ = ["add_aoi_parameter", "add_imagery_parameters", "add_vectorize_parameters", "aoi_arguments",
           "imagery_path", "is_file_layer", "layer_path", "vectorize_arguments"]


def layer_path(layer: QgsMapLayer, feedback) -> str:
    """The file the backend reads for ``layer`` (see bridge.layers.backend_path)."""
    try:
        path, filtered = backend_path(layer)
    except NotAFileLayer as exc:
        raise QgsProcessingException(str(exc)) from exc
    if filtered:
        feedback.pushWarning(tr("The filter of layer “{}” is ignored: the backend reads the whole file")
                             .format(layer.name()))
    return path


DOUBLE = QgsProcessingParameterNumber.Type.Double


def add_imagery_parameters(algorithm: QgsProcessingAlgorithm) -> None:
    """The ground resolution at which a layer that is not a file is rendered."""
    algorithm.add_number("RENDER_RESOLUTION", tr("Ground resolution to render a web or memory layer at "
                                                 "(map units of the extent's CRS per pixel)"),
                         kind=DOUBLE, optional=True, minimum=0.0)


def add_aoi_parameter(algorithm: QgsProcessingAlgorithm) -> None:
    algorithm.add(QgsProcessingParameterVectorLayer(
        "AOI", tr("Area of interest (polygons, any CRS): only tiles that meet it, nodata outside"),
        [QgsProcessing.SourceType.TypeVectorPolygon], optional=True))


def add_vectorize_parameters(algorithm: QgsProcessingAlgorithm) -> None:
    algorithm.add(QgsProcessingParameterVectorDestination(
        "VECTOR", tr("Polygons (GeoPackage)"), QgsProcessing.SourceType.TypeVectorPolygon, optional=True,
        createByDefault=False))


def imagery_path(algorithm: QgsProcessingAlgorithm, parameters, context, feedback, image, extent_name: str = "EXTENT") -> str:
    """The file the backend reads for ``image``: its own file, or a GeoTIFF rendered from it
    over the extent at RENDER_RESOLUTION (with progress and cancel)."""
    if is_file_layer(image):
        return layer_path(image, feedback)
    if not parameters.get(extent_name):
        raise QgsProcessingException(tr("Layer “{}” is not a file: give the extent to render it over")
                                     .format(image.name()))
    crs = algorithm.parameterAsExtentCrs(parameters, extent_name, context)
    if not crs.isValid() or crs.isGeographic():
        crs = context.project().crs() if context.project() is not None else crs
    if not crs.isValid() or crs.isGeographic():
        raise QgsProcessingException(tr("Rendering needs a projected CRS (metres); set the extent in one"))
    extent = extent_in(image, algorithm.parameterAsExtent(parameters, extent_name, context, crs), crs, crs)
    crs, extent = ground_crs(crs, extent)
    resolution = algorithm.parameterAsDouble(parameters, "RENDER_RESOLUTION", context) \
        if parameters.get("RENDER_RESOLUTION") not in (None, "") else 0.0
    target = QgsProcessingUtils.generateTempFilename("rendered.tif")
    feedback.pushInfo(tr("Rendering “{}” at {} units per pixel (RGB 8-bit; its licence is yours to respect)")
                      .format(image.name(), resolution))
    block_feedback = QgsRasterBlockFeedback()
    block_feedback.progressChanged.connect(feedback.setProgress)
    feedback.canceled.connect(block_feedback.cancel)
    try:
        result = render_layer(image, target, extent, crs, resolution, block_feedback, context.transformContext())
    except RenderError as exc:
        raise QgsProcessingException(str(exc)) from exc
    feedback.pushInfo(tr("Rendered {} × {} pixels into {}").format(result["width"], result["height"], target))
    return target


def aoi_arguments(algorithm: QgsProcessingAlgorithm, parameters, context, feedback) -> list[str]:
    aoi = algorithm.parameterAsVectorLayer(parameters, "AOI", context)
    if aoi is None:
        return []
    try:
        return ["--aoi", aoi_source(aoi, context.transformContext())]
    except NotAFileLayer as exc:
        raise QgsProcessingException(str(exc)) from exc


def vectorize_arguments(algorithm: QgsProcessingAlgorithm, parameters, context) -> list[str]:
    if not parameters.get("VECTOR"):
        return []
    return ["--vectorize", algorithm.parameterAsOutputLayer(parameters, "VECTOR", context)]
