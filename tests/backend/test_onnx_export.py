"""`noisyseg export-onnx`: a fixed input size and a dynamic batch, probabilities out, the metadata
contract, agreement with torch, bad input. What Deepness reads: tests/backend/test_deepness_contract.py."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from qgis_noisyseg.backend.checkpoint import save_checkpoint
from qgis_noisyseg.backend.models import build_model
from qgis_noisyseg.backend.onnx_export import ExportMismatch, WithSoftmax, check_agreement
from qgis_noisyseg.inference import OnnxSegmenter
from tests.conftest import assert_user_error

CLASSES = [{"id": 0, "name": "background", "color": "#000000", "values": []},
           {"id": 1, "name": "spring cereals", "color": "#e6c35c", "values": ["1", "2"]},
           {"id": 2, "name": "maize", "color": "#ff7f00", "values": ["216"]}]


def write_checkpoint(path, decoder="unet", in_channels=4):
    config = {"encoder": "resnet18", "decoder": decoder, "in_channels": in_channels, "num_classes": 3, "base_width": 8,
              "classes": CLASSES, "normalization": {"mean": [900.0] * in_channels, "std": [250.0] * in_channels},
              "bands": [{"index": i + 1, "name": f"B{i + 1}"} for i in range(in_channels)], "tile_size": 64,
              "resolution": [10.0, 10.0], "units": "metre", "crs": "EPSG:32632", "dataset_sha256": "abc",
              "label_field": "AfgKode", "history": [{"epoch": 1, "val_miou": 0.42}]}
    torch.manual_seed(0)
    model = build_model(config)
    save_checkpoint(path, model.state_dict(), config)
    return model


@pytest.mark.parametrize("decoder", ["unet", "fpn", "deeplabv3plus"])
def test_export_carries_its_contract_and_agrees_with_torch(tmp_path, run_cli, decoder):
    model = write_checkpoint(tmp_path / "model.pt", decoder)
    result = run_cli("export-onnx", "--model", tmp_path / "model.pt", "--out", tmp_path / "model.onnx", "--json")
    assert result.code == 0, result.err
    outputs = [e for e in result.events() if e["event"] == "done"][0]["outputs"]
    assert outputs["max_abs_probability_difference"] < 5e-5

    segmenter = OnnxSegmenter(tmp_path / "model.onnx", device="cpu")
    assert segmenter.classes == CLASSES
    assert segmenter.in_channels == 4 and segmenter.tile_size == 64 and segmenter.overlap == 16
    assert segmenter.input_size == (64, 64) and segmenter.batch_size is None and segmenter.output == "probabilities"
    assert segmenter.metadata.raw["format_version"] == 2 and segmenter.metadata.raw["input_size"] == [64, 64]
    assert segmenter.resolution == (10.0, 10.0)
    provenance = segmenter.metadata.raw["provenance"]
    assert provenance["label_field"] == "AfgKode" and provenance["best_metric"] == 0.42
    assert provenance["dataset_sha256"] == "abc" and len(provenance["checkpoint_sha256"]) == 64

    # a dynamic batch of fixed-size tiles; the predictor normalises raw pixels with the stored statistics
    raw = np.random.default_rng(0).normal(900, 250, (3, 4, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = torch.softmax(model.eval()(torch.from_numpy((raw - 900.0) / 250.0)), 1).numpy()
    np.testing.assert_allclose(segmenter.predict_probabilities(raw), expected, atol=5e-5)
    np.testing.assert_allclose(segmenter.predict_probabilities(raw).sum(axis=1), 1.0, atol=1e-5)


def test_tile_sets_the_fixed_input_size(tmp_path, run_cli):
    write_checkpoint(tmp_path / "model.pt")
    result = run_cli("export-onnx", "--model", tmp_path / "model.pt", "--out", tmp_path / "model.onnx", "--tile", "96",
                     "--overlap", "24")
    assert result.code == 0, result.err
    segmenter = OnnxSegmenter(tmp_path / "model.onnx", device="cpu")
    assert segmenter.input_size == (96, 96) and (segmenter.tile_size, segmenter.overlap) == (96, 24)
    shape = segmenter._session.get_inputs()[0].shape
    assert shape[1:] == [4, 96, 96] and isinstance(shape[0], str)
    assert segmenter._session.get_outputs()[0].shape[1:] == [3, 96, 96]
    for bad in ("50", "0"):
        assert_user_error(run_cli("export-onnx", "--model", tmp_path / "model.pt", "--out", tmp_path / "bad.onnx",
                                  "--tile", bad), f"--tile {bad}", "multiple of 32")
    assert not (tmp_path / "bad.onnx").exists()


def test_a_disagreeing_export_fails_loudly(tmp_path):
    model = write_checkpoint(tmp_path / "model.pt").eval()
    other = tmp_path / "other.onnx"
    torch.onnx.export(WithSoftmax(build_model({"encoder": "resnet18", "decoder": "unet", "in_channels": 4,
                                               "num_classes": 3, "base_width": 8})).eval(),
                      (torch.randn(1, 4, 64, 64),), str(other), input_names=["image"], output_names=["probabilities"],
                      dynamic_axes={"image": {0: "b"}, "probabilities": {0: "b"}}, dynamo=False)
    with pytest.raises(ExportMismatch, match="disagree"):
        check_agreement(WithSoftmax(model).eval(), other, 4, 64)


def test_bad_checkpoints(tmp_path, run_cli):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert_user_error(run_cli("export-onnx", "--model", tmp_path / "junk.pt", "--out", tmp_path / "a.onnx"), "junk.pt")
    assert_user_error(run_cli("export-onnx", "--model", tmp_path / "missing.pt", "--out", tmp_path / "b.onnx"),
                      "does not exist")
    config = {"encoder": "resnet18", "decoder": "unet", "in_channels": 3, "num_classes": 3, "base_width": 8}
    save_checkpoint(tmp_path / "bare.pt", build_model(config).state_dict(), config)
    assert_user_error(run_cli("export-onnx", "--model", tmp_path / "bare.pt", "--out", tmp_path / "c.onnx"),
                      "lacks what a model needs")
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob("*.tmp-*"))
