"""A prediction opens in real QGIS in the right place, with the model's palette."""

from __future__ import annotations

from qgis.core import QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer

from qgis_noisyseg.inference import OnnxSegmenter, predict_raster
from tests.inference.inference_helpers import CLASSES, TRANSFORM, conv_model, smooth_image, write_image


def test_prediction_opens_with_crs_extent_and_palette(qgis_app, tmp_path):
    model = OnnxSegmenter(conv_model(tmp_path / "model.onnx", kernel=3))
    image = write_image(tmp_path / "image.tif", smooth_image(3, 96, 130))
    outputs = predict_raster(model, image, tmp_path / "pred.tif", confidence_path=tmp_path / "conf.tif")

    layer = QgsRasterLayer(outputs["classes"], "prediction")
    try:
        assert layer.isValid()
        assert layer.crs().authid() == "EPSG:32632"
        extent = layer.extent()
        assert (extent.xMinimum(), extent.yMaximum()) == (TRANSFORM.c, TRANSFORM.f)
        assert (extent.width(), extent.height()) == (130 * 10.0, 96 * 10.0)
        message, ok = layer.loadDefaultStyle()
        assert ok, message
        renderer = layer.renderer()
        assert isinstance(renderer, QgsPalettedRasterRenderer)
        entries = [(c.value, c.color.name(), c.label) for c in renderer.classes()]
        assert entries == [(cls["id"], cls["color"], cls["name"]) for cls in CLASSES]
        confidence = QgsRasterLayer(outputs["confidence"], "confidence")
        assert confidence.isValid() and confidence.loadDefaultStyle()[1]
    finally:
        QgsProject.instance().removeAllMapLayers()
        del layer
