"""Prediction with exported models: onnxruntime + numpy + rasterio; no torch, no Qt.

Light enough to run inside QGIS's own Python.
"""

from .blending import tile_weights
from .model import OnnxSegmenter
from .qml import write_class_qml, write_confidence_qml
from .sliding import predict_raster

__all__ = ["OnnxSegmenter", "predict_raster", "tile_weights", "write_class_qml", "write_confidence_qml"]
