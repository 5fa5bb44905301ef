"""`noisyseg export-onnx`: dynamic shapes, the metadata contract, agreement with torch, bad input."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from qgis_noisyseg.backend.checkpoint import save_checkpoint
from qgis_noisyseg.backend.models import build_model
from qgis_noisyseg.backend.onnx_export import ExportMismatch, check_agreement
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
    assert outputs["max_abs_logit_difference"] < 1e-4

    segmenter = OnnxSegmenter(tmp_path / "model.onnx", device="cpu")
    assert segmenter.classes == CLASSES
    assert segmenter.in_channels == 4 and segmenter.tile_size == 64 and segmenter.overlap == 16
    assert segmenter.resolution == (10.0, 10.0)
    provenance = segmenter.metadata.raw["provenance"]
    assert provenance["label_field"] == "AfgKode" and provenance["best_metric"] == 0.42
    assert provenance["dataset_sha256"] == "abc" and len(provenance["checkpoint_sha256"]) == 64

    # dynamic batch and size; the predictor normalises raw pixels with the stored statistics
    raw = np.random.default_rng(0).normal(900, 250, (3, 4, 96, 128)).astype(np.float32)
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy((raw - 900.0) / 250.0)).numpy()
    np.testing.assert_allclose(segmenter.predict_batch(raw), expected, atol=1e-4)


def test_a_disagreeing_export_fails_loudly(tmp_path):
    model = write_checkpoint(tmp_path / "model.pt").eval()
    other = tmp_path / "other.onnx"
    torch.onnx.export(build_model({"encoder": "resnet18", "decoder": "unet", "in_channels": 4, "num_classes": 3,
                                   "base_width": 8}).eval(), (torch.randn(1, 4, 64, 64),), str(other),
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "b", 2: "h", 3: "w"}, "logits": {0: "b", 2: "h", 3: "w"}}, dynamo=False)
    with pytest.raises(ExportMismatch, match="disagree"):
        check_agreement(model, other, 4, 64)


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
