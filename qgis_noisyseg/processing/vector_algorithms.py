"""Processing: vector results (vectorize, compare-map), an area of interest, and any raster
layer as imagery (a layer that is not a file is rendered into a GeoTIFF first, see
gui/render_layer.py)."""

from __future__ import annotations

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingOutputNumber,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterVectorDestination, QgsProcessingParameterVectorLayer,
                       QgsProcessingUtils, QgsRasterBlockFeedback)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ..gui.aoi_layer import aoi_source
from ..spec.commands import CompareMapOptions, VectorizeOptions
from ..gui.layers import NotAFileLayer
from ..gui.render_layer import RenderError, extent_in, ground_crs, is_file_layer, render_layer
from .algorithms import BackendAlgorithm, layer_path
from .runner import tr

DOUBLE = QgsProcessingParameterNumber.Type.Double


def add_imagery_parameters(algorithm: BackendAlgorithm) -> None:
    """The ground resolution at which a layer that is not a file is rendered."""
    algorithm.add_number("RENDER_RESOLUTION", tr("Ground resolution to render a web or memory layer at "
                                                 "(map units of the extent's CRS per pixel)"),
                         kind=DOUBLE, optional=True, minimum=0.0)


def add_aoi_parameter(algorithm: BackendAlgorithm) -> None:
    algorithm.add(QgsProcessingParameterVectorLayer(
        "AOI", tr("Area of interest (polygons, any CRS): only tiles that meet it, nodata outside"),
        [QgsProcessing.SourceType.TypeVectorPolygon], optional=True))


def add_vectorize_parameters(algorithm: BackendAlgorithm) -> None:
    algorithm.add(QgsProcessingParameterVectorDestination(
        "VECTOR", tr("Polygons (GeoPackage)"), QgsProcessing.SourceType.TypeVectorPolygon, optional=True,
        createByDefault=False))


def imagery_path(algorithm: BackendAlgorithm, parameters, context, feedback, image, extent_name: str = "EXTENT") -> str:
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


def aoi_arguments(algorithm: BackendAlgorithm, parameters, context, feedback) -> list[str]:
    aoi = algorithm.parameterAsVectorLayer(parameters, "AOI", context)
    if aoi is None:
        return []
    try:
        return ["--aoi", aoi_source(aoi, context.transformContext())]
    except NotAFileLayer as exc:
        raise QgsProcessingException(str(exc)) from exc


def vectorize_arguments(algorithm: BackendAlgorithm, parameters, context) -> list[str]:
    if not parameters.get("VECTOR"):
        return []
    return ["--vectorize", algorithm.parameterAsOutputLayer(parameters, "VECTOR", context)]


class VectorizeAlgorithm(BackendAlgorithm):
    command = "vectorize"
    title = QT_TRANSLATE_NOOP("NoisySeg", "Vectorize a prediction")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Writes a class raster of Predict as polygons in a GeoPackage: one layer with the class id and name, "
        "styled by class, the mean confidence per polygon (from the confidence raster beside it), simplified "
        "to about a pixel; polygons and holes smaller than the minimum area are dropped. Memory stays small "
        "whatever the raster's size. Existing output files are replaced.")
    spec = VectorizeOptions
    names = {"prediction": "INPUT", "out": "OUTPUT"}
    handled = ("prediction", "out", "aoi", "overwrite")

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add(QgsProcessingParameterRasterLayer("INPUT", tr("Class raster (of Predict)")))
        for dest in ("confidence", "min_area", "simplify"):
            self.add_option(dest)
        add_aoi_parameter(self)
        self.add(QgsProcessingParameterVectorDestination("OUTPUT", tr("Polygons"),
                                                         QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber("POLYGONS", tr("Polygons written")))

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        prediction = self.parameterAsRasterLayer(parameters, "INPUT", context)
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        if not out.lower().endswith(".gpkg"):
            raise QgsProcessingException(tr("The polygons are written as a GeoPackage: give a .gpkg file"))
        return (["--prediction", layer_path(prediction, feedback), "--out", out, "--overwrite"]
                + aoi_arguments(self, parameters, context, feedback))

    def results(self, outputs: dict, parameters, context) -> dict:
        path = outputs["vector"]
        if context.willLoadLayerOnCompletion(path):
            context.layerToLoadOnCompletionDetails(path).name = tr("Predicted classes (polygons)")
        return {"OUTPUT": path, "POLYGONS": outputs["polygons"]}


class CompareMapAlgorithm(BackendAlgorithm):
    command = "compare-map"
    title = QT_TRANSLATE_NOOP("NoisySeg", "Compare an old map with a prediction")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "For every polygon of the old map: its old class, the predicted majority class and its share, the mean "
        "confidence, and whether it changed. The GeoPackage layer is sorted so that confident changes come "
        "first; changed polygons are drawn in red. With the model, the old map's values are mapped as in "
        "training. Existing output files are replaced.")
    spec = CompareMapOptions
    names = {"prediction": "INPUT", "out": "OUTPUT"}
    handled = ("prediction", "labels", "out", "overwrite")

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add(QgsProcessingParameterRasterLayer("INPUT", tr("Class raster (of Predict)")))
        self.add(QgsProcessingParameterVectorLayer("LABELS", tr("Old map (polygons)"),
                                                   [QgsProcessing.SourceType.TypeVectorPolygon]))
        for dest in ("field", "model", "confidence"):
            self.add_option(dest)
        self.add(QgsProcessingParameterVectorDestination("OUTPUT", tr("Map changes"),
                                                         QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber("CHANGED", tr("Changed polygons")))

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        prediction = self.parameterAsRasterLayer(parameters, "INPUT", context)
        old_map = self.parameterAsVectorLayer(parameters, "LABELS", context)
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        if not out.lower().endswith(".gpkg"):
            raise QgsProcessingException(tr("The report is written as a GeoPackage: give a .gpkg file"))
        return ["--prediction", layer_path(prediction, feedback), "--labels", layer_path(old_map, feedback),
                "--out", out, "--overwrite"]

    def results(self, outputs: dict, parameters, context) -> dict:
        return {"OUTPUT": outputs["map_changes"], "CHANGED": outputs["changed"]}


VECTOR_ALGORITHMS = (VectorizeAlgorithm, CompareMapAlgorithm)
