"""`noisyseg suggest` with a tiny ONNX model on a real Denmark export: ranking, scores checked by
hand, --top and --split, the JSON file, bad model/dataset pairs, cancel."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import rasterio
from onnx import numpy_helper

from qgis_noisyseg.core.errors import Cancelled
from qgis_noisyseg.core.progress import Reporter
from qgis_noisyseg.inference.model import OnnxSegmenter
from qgis_noisyseg.inference.suggest import suggest_tiles
from tests.conftest import REPO, assert_user_error
from tests.inference.inference_helpers import conv_model, metadata


@pytest.fixture(scope="session")
def dataset(denmark_old_map):
    return denmark_old_map


def manifest_of(dataset) -> dict:
    return json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))


def model_for(path, dataset, *, bands=3, classes=None, seed=0, resolution=(10.0, 10.0)):
    """A 1x1 convolution carrying the dataset's classes and normalisation (or the given ones)."""
    manifest = manifest_of(dataset)
    classes = manifest["classes"] if classes is None else classes
    meta = {**metadata(bands, classes), "resolution": list(resolution)}
    meta["normalization"] = {"mean": (manifest["band_stats"]["mean"] * 2)[:bands],
                             "std": (manifest["band_stats"]["std"] * 2)[:bands]}
    return conv_model(path, kernel=1, in_channels=bands, num_classes=len(classes), seed=seed, meta=meta)


@pytest.fixture(scope="module")
def model(dataset, tmp_path_factory):
    return model_for(tmp_path_factory.mktemp("model") / "model.onnx", dataset)


def suggest(run_cli, model, dataset, *extra):
    result = run_cli("suggest", "--model", model, "--data", dataset, "--json", *extra)
    assert result.code == 0, result.err
    return [e for e in result.events() if e["event"] == "done"][0]["outputs"], result


def by_hand(model_path, dataset, tile_id) -> tuple[float, float]:
    """(confidence, disagreement) of one tile, with numpy alone."""
    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(model_path)).graph.initializer}
    meta = json.loads(next(p.value for p in onnx.load(str(model_path)).metadata_props if p.key == "noisyseg"))
    mean = np.array(meta["normalization"]["mean"])[:, None, None]
    std = np.array(meta["normalization"]["std"])[:, None, None]
    with rasterio.open(dataset / "images" / f"{tile_id}.tif") as src:
        pixels = src.read().astype(np.float64)
    with rasterio.open(dataset / "masks" / f"{tile_id}.tif") as src:
        mask = src.read(1)
    logits = np.einsum("kc,chw->khw", weights["weight"][:, :, 0, 0], (pixels - mean) / std) + weights["bias"][:, None, None]
    probabilities = np.exp(logits - logits.max(axis=0)) / np.exp(logits - logits.max(axis=0)).sum(axis=0)
    labelled = mask != 255
    return float(probabilities.max(axis=0).mean()), float((logits.argmax(axis=0) != mask)[labelled].mean())


def test_ranks_every_tile_with_scores_in_unit_range(run_cli, model, dataset, tmp_path):
    out = tmp_path / "suggestions.json"
    outputs, result = suggest(run_cli, model, dataset, "--out", out, "--batch-size", "16")
    assert outputs["tiles_scored"] == 56 and outputs["file"] == str(out)
    suggestions = outputs["suggestions"]
    assert len(suggestions) == 10
    scores = [s["score"] for s in suggestions]
    assert scores == sorted(scores, reverse=True)
    for s in suggestions:
        assert set(s) == {"tile_id", "score", "confidence", "disagreement", "split"}
        assert 0.0 <= s["score"] <= 1.0 and 0.0 <= s["confidence"] <= 1.0 and 0.0 <= s["disagreement"] <= 1.0
        assert s["score"] == pytest.approx((1 - s["confidence"] + s["disagreement"]) / 2)
    every = json.loads(out.read_text())["tiles"]
    assert len(every) == 56 and every[:10] == suggestions
    assert len({s["score"] for s in every}) > 40, "scores should tell tiles apart"
    progress = [e for e in result.events() if e["event"] == "progress"]
    assert [e["done"] for e in progress] == [16, 32, 48, 56]


def test_disagreement_and_confidence_equal_a_hand_computation(run_cli, model, dataset):
    outputs, _ = suggest(run_cli, model, dataset, "--by", "disagreement", "--top", "3")
    assert len(outputs["suggestions"]) == 3
    for s in outputs["suggestions"]:
        confidence, disagreement = by_hand(model, dataset, s["tile_id"])
        assert s["score"] == pytest.approx(disagreement, abs=1e-9)
        assert s["disagreement"] == pytest.approx(disagreement, abs=1e-9)
        assert s["confidence"] == pytest.approx(confidence, abs=1e-5)
    everything, _ = suggest(run_cli, model, dataset, "--by", "disagreement", "--top", "100")
    assert max(s["disagreement"] for s in everything["suggestions"]) == outputs["suggestions"][0]["score"]


def test_by_confidence_and_split(run_cli, model, dataset):
    outputs, _ = suggest(run_cli, model, dataset, "--by", "confidence", "--split", "val", "--top", "4")
    val_tiles = [t["id"] for t in manifest_of(dataset)["tiles"] if t["split"] == "val"]
    assert outputs["tiles_scored"] == len(val_tiles) and len(outputs["suggestions"]) == min(4, len(val_tiles))
    assert all(s["split"] == "val" and s["tile_id"] in val_tiles for s in outputs["suggestions"])
    assert all(s["score"] == pytest.approx(1 - s["confidence"]) for s in outputs["suggestions"])
    assert outputs["file"] is None
    text = run_cli("suggest", "--model", model, "--data", dataset, "--by", "confidence", "--split", "val", "--top", "4")
    assert text.code == 0 and "tiles_scored: " in text.out
    assert outputs["suggestions"][0]["tile_id"] in text.err.split("score")[1], "a table of the suggestions for people"


def test_model_that_does_not_fit_the_dataset(run_cli, dataset, tmp_path):
    four_bands = model_for(tmp_path / "four.onnx", dataset, bands=4)
    assert_user_error(run_cli("suggest", "--model", four_bands, "--data", dataset), "4 bands", "has 3")
    other_classes = [{"id": 0, "name": "background", "color": "#000000"}, {"id": 1, "name": "building", "color": "#ff0000"}]
    buildings = model_for(tmp_path / "buildings.onnx", dataset, classes=other_classes)
    assert_user_error(run_cli("suggest", "--model", buildings, "--data", dataset), "predicts 2 classes", "has 7")
    outputs, result = suggest(run_cli, buildings, dataset, "--by", "confidence", "--top", "2")
    assert all(s["disagreement"] is None for s in outputs["suggestions"])
    assert not [e for e in result.events() if e["event"] == "warning"]
    coarse = model_for(tmp_path / "coarse.onnx", dataset, resolution=[20.0, 20.0])
    _, result = suggest(run_cli, coarse, dataset, "--top", "1")
    assert any("resolution" in e["message"] for e in result.events() if e["event"] == "warning")
    assert_user_error(run_cli("suggest", "--model", tmp_path / "missing.onnx", "--data", dataset), "not found")
    assert_user_error(run_cli("suggest", "--model", buildings, "--data", dataset, "--top", "0"), "--top")


def test_cancel_writes_no_file(model, dataset, tmp_path):
    reporter = Reporter(quiet=True)
    reporter.cancel.cancel("SIGTERM")
    with pytest.raises(Cancelled):
        suggest_tiles(OnnxSegmenter(model, device="cpu"), dataset, out=tmp_path / "s.json", reporter=reporter)
    assert not list(tmp_path.iterdir())


def test_suggest_imports_no_torch():
    code = ("import sys; import qgis_noisyseg.inference.suggest, qgis_noisyseg.commands.suggest; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.strip() == "False"
