"""Processing: vector results (vectorize, compare-map); their layer parameters are in
layer_parameters.py."""

from __future__ import annotations

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingOutputNumber,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterVectorDestination,
                       QgsProcessingParameterVectorLayer)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ..spec.commands import CompareMapOptions, VectorizeOptions
from .algorithms import BackendAlgorithm
from .layer_parameters import add_aoi_parameter, aoi_arguments, layer_path
from .runner import tr


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
