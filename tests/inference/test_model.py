import json

import numpy as np
import pytest

from inference_helpers import CLASSES, MEAN, STD, conv_model, metadata
from qgis_noisyseg.core.errors import UserError
from qgis_noisyseg.inference import OnnxSegmenter


def test_reads_metadata_and_uses_cpu(tmp_path):
    segmenter = OnnxSegmenter(conv_model(tmp_path / "m.onnx"), device="cpu", threads=1)
    assert segmenter.classes == [{**cls, "values": []} for cls in CLASSES]
    assert segmenter.num_classes == 3
    assert segmenter.in_channels == 3
    assert segmenter.normalization == {"mean": MEAN, "std": STD}
    assert (segmenter.tile_size, segmenter.overlap) == (64, 16)
    assert segmenter.resolution == (10.0, 10.0)
    assert segmenter.ignore_index == 255
    assert segmenter.provider == "CPUExecutionProvider"


def test_predict_batch_normalises_raw_pixels(tmp_path):
    path = conv_model(tmp_path / "m.onnx")
    segmenter = OnnxSegmenter(path, device="cpu")
    import onnx
    from onnx import numpy_helper

    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    pixels = np.random.default_rng(0).uniform(0, 500, (2, 3, 5, 7)).astype(np.float32)
    normalised = (pixels - np.array(MEAN)[None, :, None, None]) / np.array(STD)[None, :, None, None]
    expected = np.einsum("kc,nchw->nkhw", weights["weight"][:, :, 0, 0], normalised) \
        + weights["bias"][None, :, None, None]
    logits = segmenter.predict_batch(pixels)
    assert logits.dtype == np.float32 and logits.shape == (2, 3, 5, 7)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)


def test_corrupt_file_is_a_user_error(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(UserError, match="junk.onnx"):
        OnnxSegmenter(path)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        OnnxSegmenter(tmp_path / "absent.onnx")


def test_missing_metadata_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no 'noisyseg' metadata"):
        OnnxSegmenter(conv_model(tmp_path / "m.onnx", meta={}))


@pytest.mark.parametrize("change", [
    lambda m: m.update(format="other"),
    lambda m: m.update(format_version=99),
    lambda m: m.pop("classes"),
    lambda m: m["classes"].__setitem__(1, {"id": 5, "name": "x", "color": "#ffffff"}),
    lambda m: m["classes"].__setitem__(1, {"id": 1, "name": "x", "color": "red"}),
    lambda m: m["normalization"].update(std=[1.0, 0.0, 1.0]),
    lambda m: m["normalization"].update(mean=[1.0]),
    lambda m: m.update(in_channels=4),
    lambda m: m.update(tile_size="big"),
])
def test_invalid_metadata_is_a_user_error(tmp_path, change):
    meta = json.loads(json.dumps(metadata()))
    change(meta)
    with pytest.raises(UserError, match="m.onnx") as info:
        OnnxSegmenter(conv_model(tmp_path / "m.onnx", meta=meta))
    assert "\n" not in str(info.value)


def test_cuda_without_cuda_support_is_a_user_error(tmp_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(UserError, match="cuda"):
        OnnxSegmenter(conv_model(tmp_path / "m.onnx"), device="cuda")


def test_unknown_device_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="device"):
        OnnxSegmenter(conv_model(tmp_path / "m.onnx"), device="tpu")
