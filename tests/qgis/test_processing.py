"""The Processing provider in real QGIS: registration, export, predict, errors, cancel, qgis_process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import processing
import pyogrio
import pytest
import rasterio
import shapely
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform,
                       QgsPalettedRasterRenderer, QgsProcessingException, QgsProcessingFeedback, QgsProject,
                       QgsRectangle, QgsSingleBandPseudoColorRenderer, QgsVectorLayer)

from qgis_noisyseg.bridge import process as bridge_process
from tests.conftest import DENMARK, REPO
from tests.inference.inference_helpers import CRS, TRANSFORM, conv_model, metadata, smooth_image, write_image

ALGORITHMS = ["noisyseg:compare-map", "noisyseg:export", "noisyseg:finetune", "noisyseg:predict", "noisyseg:pretrain",
              "noisyseg:suggest", "noisyseg:vectorize"]
CLASSES = [{"id": 0, "name": "background", "color": "#000000", "values": []},
           {"id": 1, "name": "barley", "color": "#e6c35c", "values": ["barley"]},
           {"id": 2, "name": "wheat", "color": "#4daf4a", "values": ["wheat"]}]


def denmark_export(out, **overrides) -> dict:
    return {"INPUT": str(DENMARK / "RGB_small.tif"), "LABELS": [str(DENMARK / "marker_small_c31bc47.shp")],
            "FIELD": "AfgKode", "CLASSES": str(DENMARK / "classes.json"), "TILE": 128, "OUTPUT": str(out), **overrides}


def test_the_plugin_registers_and_unregisters_the_provider(qgis_iface, qgis_processing):
    import qgis_noisyseg

    registry = QgsApplication.processingRegistry()
    plugin = qgis_noisyseg.classFactory(qgis_iface)
    plugin.initGui()
    provider = registry.providerById("noisyseg")
    assert provider is plugin.provider
    assert sorted(a.id() for a in provider.algorithms()) == ALGORITHMS
    assert all(a.shortHelpString() and a.displayName() for a in provider.algorithms())
    plugin.unload()
    assert registry.providerById("noisyseg") is None
    assert "torch" not in sys.modules


def test_export_writes_a_dataset(provider, tmp_path):
    (tmp_path / "dataset").mkdir()  # an empty folder, as a folder dialog returns, is no obstacle
    results = processing.run("noisyseg:export", denmark_export(tmp_path / "dataset"))

    manifest = json.loads((tmp_path / "dataset" / "manifest.json").read_text())
    assert results["OUTPUT"] == str(tmp_path / "dataset")
    assert results["TILES"] == len(manifest["tiles"]) > 0
    assert manifest["label_sources"][0]["field"] == "AfgKode" and manifest["tile_size"] == 128


def test_export_reads_a_geopackage_layer_as_file_colon_layer(provider, tmp_path):
    from qgis_noisyseg.processing.layer_parameters import layer_path

    gpkg = tmp_path / "labels.gpkg"
    processing.run("native:savefeatures", {"INPUT": str(DENMARK / "marker_small_c31bc47.shp"),
                                           "OUTPUT": f"ogr:dbname='{gpkg}' table=\"fields\" (geom)"})
    layer = QgsVectorLayer(f"{gpkg}|layername=fields", "fields", "ogr")
    try:
        assert layer.isValid()
        assert layer_path(layer, QgsProcessingFeedback()) == f"{gpkg}:fields"
        results = processing.run("noisyseg:export", denmark_export(tmp_path / "dataset", LABELS=[layer]))
        assert results["TILES"] > 0
    finally:
        del layer


def test_pretrain_then_finetune(provider, tmp_path):
    dataset = processing.run("noisyseg:export", denmark_export(tmp_path / "dataset"))["OUTPUT"]
    training = {"DATA": dataset, "EPOCHS": 1, "BATCH_SIZE": 4, "DEVICE": "cpu"}

    pretrained = processing.run("noisyseg:pretrain", {**training, "METHOD": "noisy", "BASE_WIDTH": 8, "LOSS": "sce",
                                                      "OUTPUT": str(tmp_path / "pretrained")})
    finetuned = processing.run("noisyseg:finetune", {**training, "INIT": pretrained["MODEL"], "MAX_TILES": 4,
                                                     "FREEZE": "encoder", "LOSS": "bootstrap", "TILES_WITH": "spring cereals",
                                                     "OUTPUT": str(tmp_path / "finetuned")})
    scratch = processing.run("noisyseg:finetune", {**training, "BASE_WIDTH": 8, "OUTPUT": str(tmp_path / "scratch")})

    assert pretrained["MODEL"] == str(tmp_path / "pretrained" / "model.pt")
    for run in (pretrained, finetuned, scratch):
        history = json.loads((Path(run["OUTPUT"]) / "history.json").read_text())
        assert os.path.isfile(run["MODEL"]) and run["VAL_MIOU"] == history[-1]["val_miou"]
    assert json.loads((tmp_path / "pretrained" / "config.json").read_text())["training"]["loss"] == "sce"
    config = json.loads((tmp_path / "finetuned" / "config.json").read_text())
    assert config["init"] == pretrained["MODEL"] and config["freeze"] == "encoder" and config["max_tiles"] == 4
    assert config["training"]["loss"] == "bootstrap" and config["tiles_with"] == 1
    assert json.loads((tmp_path / "scratch" / "config.json").read_text())["init"] is None
    assert "torch" not in sys.modules


def test_predict_loads_its_outputs_with_their_styles(provider, tmp_path):
    meta = metadata(3, CLASSES)
    meta["provenance"]["label_field"] = "crop"
    model = conv_model(tmp_path / "model.onnx", kernel=3, meta=meta)
    image = write_image(tmp_path / "image.tif", smooth_image(3, 96, 130))
    left, top = TRANSFORM.c, TRANSFORM.f
    old_map = tmp_path / "old.gpkg"
    barley_everywhere = shapely.to_wkb([shapely.box(left, top - 960, left + 1300, top)])
    pyogrio.raw.write(old_map, np.asarray(barley_everywhere, dtype=object), [np.asarray(["barley"], dtype=object)],
                      ["crop"], crs=CRS, geometry_type="Polygon", layer="old")
    old_layer = QgsVectorLayer(f"{old_map}|layername=old", "old", "ogr")
    parameters = {"MODEL": str(model), "INPUT": str(image), "TILE": 64, "OVERLAP": 16, "BATCH": 2,
                  "DISAGREEMENT_WITH": old_layer, "CONFIDENCE": str(tmp_path / "confidence.tif"),
                  "OUTPUT": str(tmp_path / "classes.tif")}
    try:
        results = processing.runAndLoadResults("noisyseg:predict", parameters)
        assert results["OUTPUT"] == str(tmp_path / "classes.tif")
        assert results["DISAGREEMENT"] == str(tmp_path / "classes_disagreement.tif")
        layers = {layer.source(): layer for layer in QgsProject.instance().mapLayers().values()}
        classes = layers[results["OUTPUT"]].renderer()
        assert isinstance(classes, QgsPalettedRasterRenderer)
        assert [c.label for c in classes.classes()] == [c["name"] for c in CLASSES]  # from classes.qml
        assert isinstance(layers[results["CONFIDENCE"]].renderer(), QgsSingleBandPseudoColorRenderer)
        assert isinstance(layers[results["DISAGREEMENT"]].renderer(), QgsPalettedRasterRenderer)
    finally:
        QgsProject.instance().removeAllMapLayers()
        del old_layer


def test_predict_extent_is_converted_to_the_image_crs(provider, tmp_path):
    model = conv_model(tmp_path / "model.onnx")
    image = write_image(tmp_path / "image.tif", smooth_image(3, 96, 130))
    wanted = QgsRectangle(TRANSFORM.c + 300, TRANSFORM.f - 700, TRANSFORM.c + 900, TRANSFORM.f - 200)
    to_web_mercator = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:32632"),
                                             QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance())
    box = to_web_mercator.transformBoundingBox(wanted)
    extent = f"{box.xMinimum()},{box.xMaximum()},{box.yMinimum()},{box.yMaximum()} [EPSG:3857]"

    results = processing.run("noisyseg:predict", {"MODEL": str(model), "INPUT": str(image), "EXTENT": extent,
                                                  "OUTPUT": str(tmp_path / "classes.tif")})

    with rasterio.open(results["OUTPUT"]) as out:
        left, bottom, right, top = out.bounds
    assert left <= wanted.xMinimum() and right >= wanted.xMaximum()  # back in UTM, around the wanted box
    assert bottom <= wanted.yMinimum() and top >= wanted.yMaximum()
    assert right - left < 130 * 10.0 and top - bottom < 96 * 10.0  # and not the whole image


def test_predict_writes_probabilities_float_confidence_and_a_named_disagreement(provider, tmp_path):
    """The predict options Processing lacked: --probabilities, --confidence-dtype, --disagreement-out."""
    meta = metadata(3, CLASSES)
    meta["provenance"]["label_field"] = "crop"
    model = conv_model(tmp_path / "model.onnx", kernel=3, meta=meta)
    image = write_image(tmp_path / "image.tif", smooth_image(3, 64, 64))
    left, top = TRANSFORM.c, TRANSFORM.f
    old_map = tmp_path / "old.gpkg"
    pyogrio.raw.write(old_map, np.asarray(shapely.to_wkb([shapely.box(left, top - 640, left + 640, top)]), dtype=object),
                      [np.asarray(["barley"], dtype=object)], ["crop"], crs=CRS, geometry_type="Polygon", layer="old")
    results = processing.run("noisyseg:predict", {
        "MODEL": str(model), "INPUT": str(image), "TILE": 64, "OVERLAP": 16, "DISAGREEMENT_WITH": str(old_map),
        "CONFIDENCE": str(tmp_path / "confidence.tif"), "CONFIDENCE_DTYPE": "float32",
        "PROBABILITIES": str(tmp_path / "probabilities.tif"), "DISAGREEMENT_OUT": str(tmp_path / "where.tif"),
        "OUTPUT": str(tmp_path / "classes.tif")})
    assert results["DISAGREEMENT"] == str(tmp_path / "where.tif") and os.path.isfile(results["DISAGREEMENT"])
    with rasterio.open(results["CONFIDENCE"]) as confidence, rasterio.open(results["PROBABILITIES"]) as probabilities:
        assert confidence.dtypes[0] == "float32" and probabilities.count == len(CLASSES)
        np.testing.assert_allclose(probabilities.read().max(axis=0), confidence.read(1), atol=1e-6)


def test_a_tile_that_is_not_a_multiple_of_32_is_refused_before_the_backend_starts(provider, tmp_path):
    with pytest.raises(QgsProcessingException, match="--tile must be a multiple of 32 and at least 32 .*, not --tile 100; use 96 or 128"):
        processing.run("noisyseg:export", denmark_export(tmp_path / "dataset", TILE=100))
    assert not (tmp_path / "dataset").exists()


def test_a_backend_user_error_raises_its_one_line_message(provider, tmp_path):
    with pytest.raises(QgsProcessingException) as error:
        processing.run("noisyseg:export", denmark_export(tmp_path / "dataset", FIELD="NoSuchField"))
    message = str(error.value)
    assert message.startswith("noisyseg export: error: field 'NoSuchField' is not in marker_small_c31bc47.shp")
    assert "\n" not in message
    assert not (tmp_path / "dataset").exists()


def test_cancel_stops_the_backend_and_leaves_no_output(provider, tmp_path, monkeypatch):
    started = []

    class RecordedPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(bridge_process.subprocess, "Popen", RecordedPopen)
    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda _progress: feedback.cancel())

    with pytest.raises(QgsProcessingException, match="cancelled"):
        processing.run("noisyseg:export", denmark_export(tmp_path / "dataset", TILE=32, STRIDE=8), feedback=feedback)

    assert feedback.isCanceled() and [process.returncode for process in started] == [130]
    assert os.listdir(tmp_path) == []  # neither the dataset nor a temporary folder


@pytest.mark.skipif(shutil.which("qgis_process.bin") is None, reason="needs QGIS's qgis_process.bin")
def test_qgis_process_runs_export_headless(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "config"),
           "QGIS_PLUGINPATH": str(REPO)}

    def qgis_process(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["qgis_process.bin", *args], env=env, capture_output=True, text=True, timeout=300)

    enabled = qgis_process("plugins", "enable", "qgis_noisyseg")
    assert enabled.returncode == 0, enabled.stderr
    labels = DENMARK / "marker_small_c31bc47.shp"
    run = qgis_process("--json", "run", "noisyseg:export", "--", f"INPUT={DENMARK / 'RGB_small.tif'}",
                       f"LABELS={labels}", "FIELD=AfgKode", f"CLASSES={DENMARK / 'classes.json'}", "TILE=128",
                       f"OUTPUT={tmp_path / 'dataset'}")
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)["results"]
    assert results["OUTPUT"] == str(tmp_path / "dataset") and results["TILES"] > 0
    assert (tmp_path / "dataset" / "manifest.json").is_file()
