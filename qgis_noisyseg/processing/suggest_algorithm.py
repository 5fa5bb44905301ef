"""Processing: ``noisyseg suggest``, the tiles to correct next, from the model's confidence and its
disagreement with the noisy labels; optionally within an area of interest (any CRS).

The parameters are the command's (spec/commands.py: SuggestOptions). The backend ranks the tiles;
the suggested ones then become a polygon layer (their footprints, from the dataset's manifest, in
its CRS), in rank order, with the scores the command reports, so that they open on the map.
"""

from __future__ import annotations

from qgis.core import (QgsFeature, QgsFeatureSink, QgsFields, QgsFillSymbol,
                       QgsProcessing, QgsProcessingException, QgsProcessingOutputNumber, QgsProcessingParameterFeatureSink, QgsSingleSymbolRenderer,
                       QgsVectorLayer, QgsWkbTypes)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ..bridge.layers import dataset_crs, tile_polygon
from ..core.dataset import Dataset
from ..core.errors import UserError
from ..spec.commands import SuggestOptions
from ..spec.results import SuggestResult
from .algorithms import BackendAlgorithm, KeptPostProcessor
from .runner import tr
from .layer_parameters import aoi_arguments

# The suggested tiles layer: one feature per suggested tile, best first.
FIELDS = (("rank", "integer"), ("tile_id", "string"), ("split", "string"), ("score", "double(0,0)"),
          ("confidence", "double(0,0)"), ("disagreement", "double(0,0)"))  # (0,0): no rounding


def suggestion_fields() -> QgsFields:
    """The layer's fields, made by a memory layer's URI: the same code for QGIS 3 (QVariant field
    types) and QGIS 4 (QMetaType)."""
    uri = "None?" + "&".join(f"field={name}:{kind}" for name, kind in FIELDS)
    return QgsFields(QgsVectorLayer(uri, "suggested tiles", "memory").fields())


class SuggestAlgorithm(BackendAlgorithm):
    command = "suggest"
    spec = SuggestOptions
    names = {"out": "SCORES"}
    handled = ("aoi",)
    title = QT_TRANSLATE_NOOP("NoisySeg", "Suggest tiles to correct")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Ranks the tiles of a dataset from “Export noisy dataset” by how much a model.onnx doubts them: "
        "1 - its mean confidence, its disagreement with the noisy mask, or the mean of the two. Correct the "
        "highest first, then fine-tune on them.\n"
        "With an area of interest (polygons, any CRS) only the tiles that meet it are ranked, on their pixels "
        "inside it.\n"
        "The suggested tiles are written as polygons in the dataset's CRS, best first (rank 1), with their "
        "score, confidence and disagreement; the optional JSON file holds every tile's scores. "
        "Needs no torch: onnxruntime only.")

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        for dest in ("model", "data", "top", "by", "split", "aoi", "nodata", "batch_size", "device", "threads", "out"):
            self.add_option(dest)
        self.add(QgsProcessingParameterFeatureSink("OUTPUT", tr("Suggested tiles"),
                                                   QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber("TILES_SCORED", tr("Tiles scored")))

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        return aoi_arguments(self, parameters, context, feedback)

    def results(self, outputs: dict, parameters, context) -> dict:
        result = SuggestResult.from_outputs(outputs)
        try:
            dataset = Dataset(self.parameterAsFile(parameters, "DATA", context), require=())
            tiles = {tile["id"]: tile for tile in dataset.tiles}
        except UserError as exc:
            raise QgsProcessingException(str(exc)) from exc
        sink, destination = self.parameterAsSink(parameters, "OUTPUT", context, suggestion_fields(),
                                                 QgsWkbTypes.Type.Polygon, dataset_crs(dataset))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        for rank, suggestion in enumerate(result.suggestions, start=1):
            feature = QgsFeature(suggestion_fields())
            feature.setGeometry(tile_polygon(tiles[suggestion.tile_id]))
            feature.setAttributes([rank, suggestion.tile_id, suggestion.split, suggestion.score,
                                   suggestion.confidence, suggestion.disagreement])
            sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
        del sink  # flushed and closed before QGIS loads it
        if context.willLoadLayerOnCompletion(destination):
            details = context.layerToLoadOnCompletionDetails(destination)
            details.name = tr("Suggested tiles")
            details.setPostProcessor(OutlineStyle.create())
        return {"OUTPUT": destination, "SCORES": result.file, "TILES_SCORED": result.tiles_scored}


class OutlineStyle(KeptPostProcessor):
    """Draws the suggested tiles as outlines, so that the imagery under them stays visible."""

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802 (QGIS's name)
        symbol = QgsFillSymbol.createSimple({"style": "no", "outline_color": "#e31a1c", "outline_width": "0.6"})
        layer.setRenderer(QgsSingleSymbolRenderer(symbol))
        layer.triggerRepaint()
