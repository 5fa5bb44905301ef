"""What Deepness (PUTvision/qgis-plugin-deepness 0.6.5) reads from an ONNX model, checked on a file
that `noisyseg export-onnx` wrote from a model trained here on the Denmark scene.

Deepness, read in its source (processing/models/model_base.py, segmentor.py, deepness_dockwidget.py):
- one input; its shape [batch, channels, height, width] sets the panel's tile size from
  ``shape[-1]`` (an int spin box: a symbolic size fails) and the channel count from ``shape[-3]``;
  a string batch leaves the batch size to the user (a fixed one is forced on the panel);
- every output is a segmentation output [N, C, S, S]; it zeroes values under ``seg_thresh`` and
  takes the argmax over C, so the values are meant as probabilities;
- metadata values are JSON, each read with ``json.loads``: ``model_type`` (capitalised, must name
  the class ``Segmentor``), ``class_names`` (``{"0": name, ...}``, keys consecutive from 0),
  ``resolution`` (float, cm/px), ``tile_size`` (int, px), ``tiles_overlap`` (int, percent),
  ``standardization_mean``/``standardization_std`` (float lists, one per channel),
  ``seg_thresh`` (float), ``seg_small_segment`` (int);
- it reads the raster's raw values (uint16 stays uint16), divides them by 255 whatever their type,
  then standardises, ``(x / 255 - mean) / std``, in float32, NHWC turned NCHW.
None of Deepness's code is here: the checks below restate those rules.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import rasterio
import torch

from qgis_noisyseg.backend.checkpoint import load_checkpoint
from qgis_noisyseg.backend.models import build_model
from qgis_noisyseg.backend.onnx_export import contract, deepness_metadata, resolution_cm_per_px
from qgis_noisyseg.cli import main
from qgis_noisyseg.core.imagery import sha256_of
from qgis_noisyseg.inference import OnnxSegmenter
from tests.conftest import DENMARK, assert_user_error

IMAGE = DENMARK / "RGB_small.tif"
TILE = 64
DEEPNESS_KEYS = {"model_type": str, "class_names": dict, "resolution": float, "tile_size": int,
                 "tiles_overlap": int, "standardization_mean": list, "standardization_std": list,
                 "seg_thresh": float, "seg_small_segment": int}


@pytest.fixture(scope="module")
def models(denmark_2016, tmp_path_factory):
    """A width-8 U-Net trained 8 epochs on the Denmark export, exported in today's format and in
    format version 1 (what export-onnx wrote before: dynamic size, logits) from the same checkpoint."""
    root = tmp_path_factory.mktemp("deepness")
    assert main(["pretrain", "--data", str(denmark_2016), "--out", str(root / "run"), "--epochs", "8",
                 "--base-width", "8", "--batch-size", "4", "--device", "cpu", "--seed", "0"]) == 0
    checkpoint = root / "run" / "model.pt"
    assert main(["export-onnx", "--model", str(checkpoint), "--out", str(root / "new.onnx")]) == 0
    export_format_1(checkpoint, root / "old.onnx")
    return {"new": root / "new.onnx", "old": root / "old.onnx", "data": denmark_2016, "root": root}


def export_format_1(checkpoint, out):
    """The file export-onnx wrote before format version 2, made the same way from the same weights."""
    loaded = load_checkpoint(checkpoint)
    config = loaded["config"]
    model = build_model(config)
    model.load_state_dict(loaded["state_dict"])
    model.eval()
    metadata = contract(config, TILE, None, sha256_of([checkpoint]))
    metadata = {k: v for k, v in metadata.items() if k not in ("input_size", "output")} | {"format_version": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(1, config["in_channels"], TILE, TILE),), str(out),
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                        "logits": {0: "batch", 2: "height", 3: "width"}}, opset_version=17, dynamo=False)
    graph = onnx.load(str(out))
    onnx.helper.set_model_props(graph, {"noisyseg": json.dumps(metadata)})
    onnx.save(graph, str(out))


def properties(path) -> dict:
    return dict(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map)


def tile_aligned_scene() -> np.ndarray:
    """The Denmark scene's raw uint16 pixels, cut into the 64 px tiles that fit: [N, bands, 64, 64]."""
    with rasterio.open(IMAGE) as src:
        image = src.read()
    rows, cols = image.shape[1] // TILE, image.shape[2] // TILE
    return np.stack([image[:, r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] for r in range(rows) for c in range(cols)])


def deepness_input(tiles: np.ndarray, mean: list, std: list) -> np.ndarray:
    """Deepness's preprocessing restated: NHWC raw values, x / 255 in float32, then (x - mean) / std, NCHW."""
    nhwc = tiles.transpose(0, 2, 3, 1)
    scaled = np.float32(nhwc * (1.0 / 255.0))
    standardised = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return standardised.transpose(0, 3, 1, 2)


def test_the_metadata_deepness_reads(models):
    props = properties(models["new"])
    ours = json.loads(props["noisyseg"])
    values = {key: json.loads(props[key]) for key in DEEPNESS_KEYS}  # each one JSON, as Deepness reads it
    for key, kind in DEEPNESS_KEYS.items():
        assert type(values[key]) is kind, (key, values[key])

    assert values["model_type"] == "Segmentor" == values["model_type"].capitalize()
    names = [c["name"] for c in ours["classes"]]
    assert len(names) == 7 and names[0] == "background"
    assert list(values["class_names"]) == [str(i) for i in range(len(names))]  # keys "0".."6", in order
    assert list(values["class_names"].values()) == names
    # units: the Denmark scene is 10 m (EPSG:32632, metre) -> 1000 cm/px; 64 px tiles, 16 px overlap -> 25 %
    assert (ours["resolution"], ours["units"]) == ([10.0, 10.0], "metre")
    assert values["resolution"] == 1000.0
    assert values["tile_size"] == ours["tile_size"] == TILE
    assert (ours["overlap"], values["tiles_overlap"]) == (16, 25)
    assert values["seg_thresh"] == 0.0 and values["seg_small_segment"] == 0  # our prediction is the plain argmax
    mean, std = ours["normalization"]["mean"], ours["normalization"]["std"]
    assert len(values["standardization_mean"]) == len(values["standardization_std"]) == ours["in_channels"] == 3
    np.testing.assert_allclose(np.array(values["standardization_mean"]) * 255, mean, rtol=1e-12)
    np.testing.assert_allclose(np.array(values["standardization_std"]) * 255, std, rtol=1e-12)
    assert (ours["format_version"], ours["output"], ours["input_size"]) == (2, "probabilities", [TILE, TILE])


def test_a_fixed_input_a_dynamic_batch_and_a_softmax_output(models):
    session = ort.InferenceSession(str(models["new"]), providers=["CPUExecutionProvider"])
    (image,), (output,) = session.get_inputs(), session.get_outputs()
    assert isinstance(image.shape[0], str)  # Deepness leaves the batch size to the user
    assert image.shape[1:] == [3, TILE, TILE]  # channels and spin-box tile size are ints
    assert isinstance(output.shape[0], str) and output.shape[1:] == [7, TILE, TILE]
    last = onnx.load(str(models["new"])).graph.node[-1]
    assert last.op_type == "Softmax" and last.output[0] == output.name == "probabilities"
    assert [a.i for a in last.attribute if a.name == "axis"] == [1]

    tiles = tile_aligned_scene()
    ours = json.loads(properties(models["new"])["noisyseg"])["normalization"]
    normalised = deepness_input(tiles, *(np.array(ours[k]) / 255 for k in ("mean", "std")))
    (probabilities,) = session.run(None, {image.name: normalised[:5]})  # a batch other than the export's 1
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert probabilities.min() >= 0.0
    # the same as the softmax of the format-1 file's logits, from the same weights
    logits = OnnxSegmenter(models["old"], device="cpu").predict_batch(tiles[:5].astype(np.float32))
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, softmax / softmax.sum(axis=1, keepdims=True), atol=1e-5)


def test_deepness_preprocessing_reproduces_our_argmax_on_uint16_imagery(models):
    tiles = tile_aligned_scene()
    assert tiles.dtype == np.uint16 and tiles.max() > 255  # reflectance x 10000: x / 255 is nowhere near 0..1
    assert tiles.shape == (42, 3, TILE, TILE)
    props = properties(models["new"])
    session = ort.InferenceSession(str(models["new"]), providers=["CPUExecutionProvider"])
    mean, std = json.loads(props["standardization_mean"]), json.loads(props["standardization_std"])
    (deepness,) = session.run(None, {"image": deepness_input(tiles, mean, std)})

    logits = OnnxSegmenter(models["old"], device="cpu").predict_batch(tiles.astype(np.float32))
    ours = logits.argmax(axis=1)
    differ = deepness.argmax(axis=1) != ours
    # Deepness divides by 255 before standardising, so its inputs differ from ours by float
    # rounding (~1e-7): a pixel may flip only where our two best classes tie to that precision.
    top2 = np.sort(logits, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    assert np.all(margin[differ] < 1e-4), margin[differ]
    assert differ.sum() <= 3, differ.sum()  # of the 172 032 pixels
    shares = np.bincount(ours.ravel(), minlength=7) / ours.size
    assert np.count_nonzero(shares > 0.02) >= 4  # a real model: several classes, not one everywhere

    # the test can fail: values meant for x / 65535 (the uint16 range) instead of x / 255 give another map
    (wrong,) = session.run(None, {"image": deepness_input(tiles, *(np.array(v) * 255 / 65535 for v in (mean, std)))})
    assert np.mean(wrong.argmax(axis=1) == ours) < 0.9


def test_resolution_in_cm_per_px():
    assert resolution_cm_per_px([10.0, -10.0], "metre") == 1000.0
    assert resolution_cm_per_px([0.5, 0.5], "metre") == 50.0
    assert resolution_cm_per_px([2.0, 2.0], "foot") == pytest.approx(60.96, rel=1e-12)
    # degrees: QGIS's factor (QgsUnitTypes, metres to degrees: 1 / 111319.49079327357), with which Deepness
    # turns cm/px back into map units, so a 0.0001 degree grid comes back exactly
    degrees = resolution_cm_per_px([0.0001, 0.0001], "degree")
    assert degrees == pytest.approx(1113.1949079327357, rel=1e-12)
    assert degrees / 100 * 8.983152841195214e-06 == pytest.approx(0.0001, rel=1e-12)
    assert resolution_cm_per_px([10.0, 20.0], "metre") == 1500.0  # Deepness has one size for both axes
    assert resolution_cm_per_px([10.0, 10.0], "unknown") is None and resolution_cm_per_px(None, "metre") is None
    base = {"classes": [{"id": 0, "name": "background"}], "tile_size": 256, "overlap": 64,
            "normalization": {"mean": [0.0], "std": [1.0]}, "resolution": [1.0, 1.0], "units": "unknown"}
    assert "resolution" not in deepness_metadata(base)  # Deepness then keeps the value its panel has
    assert deepness_metadata({**base, "overlap": 50})["tiles_overlap"] == 20  # 19.5 % rounds to the nearest


def test_predict_and_suggest_agree_on_both_formats(models, run_cli, tmp_path):
    outputs = {}
    for kind in ("new", "old"):
        result = run_cli("predict", "--model", models[kind], "--image", IMAGE, "--out", tmp_path / f"{kind}.tif",
                         "--confidence", tmp_path / f"{kind}_conf.tif", "--confidence-dtype", "float32",
                         "--probabilities", tmp_path / f"{kind}_p.tif", "--threads", "1")
        assert result.code == 0, result.err
        with rasterio.open(tmp_path / f"{kind}.tif") as a, rasterio.open(tmp_path / f"{kind}_conf.tif") as b, \
                rasterio.open(tmp_path / f"{kind}_p.tif") as c:
            outputs[kind] = a.read(1), b.read(1), c.read()
        assert run_cli("suggest", "--model", models[kind], "--data", models["data"], "--top", "5",
                       "--out", tmp_path / f"{kind}.json", "--threads", "1").code == 0
    (classes_new, confidence_new, p_new), (classes_old, confidence_old, p_old) = outputs["new"], outputs["old"]
    assert classes_new.shape == (413, 452)
    differ = classes_new != classes_old  # only where two classes tie to float precision
    assert differ.sum() <= 5
    rows, cols = np.nonzero(differ)
    np.testing.assert_allclose(p_new[classes_new[differ], rows, cols], p_new[classes_old[differ], rows, cols], atol=1e-5)
    np.testing.assert_allclose(confidence_new, confidence_old, atol=1e-5)
    np.testing.assert_allclose(p_new, p_old, atol=1e-5)

    new, old = (json.loads((tmp_path / f"{kind}.json").read_text())["tiles"] for kind in ("new", "old"))
    assert len(new) == len(old) == 56  # every tile of the export
    assert [t["tile_id"] for t in new] == [t["tile_id"] for t in old]
    for a, b in zip(new, old):
        assert a["score"] == pytest.approx(b["score"], abs=1e-5) and a["disagreement"] == b["disagreement"]


def test_old_files_still_load_and_keep_their_freedom(models, run_cli, tmp_path):
    old, new = OnnxSegmenter(models["old"], device="cpu"), OnnxSegmenter(models["new"], device="cpu")
    assert (old.metadata.raw["format_version"], old.output, old.input_size) == (1, "logits", None)
    assert (new.metadata.raw["format_version"], new.output, new.input_size) == (2, "probabilities", (TILE, TILE))
    assert old.classes == new.classes and old.normalization == new.normalization
    args = ["--image", IMAGE, "--tile", "128", "--overlap", "32"]
    assert run_cli("predict", "--model", models["old"], "--out", tmp_path / "old.tif", *args).code == 0
    assert_user_error(run_cli("predict", "--model", models["new"], "--out", tmp_path / "new.tif", *args),
                      "tile size 128", "64 px tiles only", "export-onnx --tile 128")
    assert not list(tmp_path.glob("new*"))
