import json

import numpy as np
import pytest

from inference_helpers import CLASSES, MEAN, STD, conv_model, metadata
from qgis_noisyseg.core.errors import UserError
from qgis_noisyseg.inference import OnnxSegmenter
from tests.conftest import assert_user_error


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


# Format version 2: a fixed input size, a softmax output named "probabilities" (what export-onnx writes now).

def static_softmax_model(path, size=64, batch="N", in_channels=3, num_classes=3, meta=None, output="probabilities"):
    """A 1 x 1 Conv then a Softmax over the classes, on a fixed ``size`` x ``size`` input; with
    ``batch`` an int, a fixed batch too. Returns the path and the conv weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    weight = rng.normal(0.0, 1.0, (num_classes, in_channels, 1, 1)).astype(np.float32)
    bias = rng.normal(0.0, 0.5, num_classes).astype(np.float32)
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, in_channels, size, size])
    result = helper.make_tensor_value_info(output, TensorProto.FLOAT, [batch, num_classes, size, size])
    nodes = [helper.make_node("Conv", ["image", "weight", "bias"], ["logits_"], kernel_shape=[1, 1]),
             helper.make_node("Softmax", ["logits_"], [output], axis=1)]
    graph = helper.make_graph(nodes, "conv_softmax", [image], [result],
                              initializer=[numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if meta is None:
        meta = format_2(metadata(in_channels, CLASSES[:num_classes], tile_size=size))
    helper.set_model_props(model, {"noisyseg": json.dumps(meta)})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path, weight[:, :, 0, 0], bias


def format_2(meta, output="probabilities"):
    return {**meta, "format_version": 2, "output": output, "input_size": [meta["tile_size"]] * 2}


def expected_probabilities(pixels, weight, bias):
    normalised = (pixels - np.array(MEAN)[None, :, None, None]) / np.array(STD)[None, :, None, None]
    logits = np.einsum("kc,nchw->nkhw", weight, normalised) + bias[None, :, None, None]
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def test_format_2_reads_a_fixed_size_and_probabilities(tmp_path):
    path, weight, bias = static_softmax_model(tmp_path / "m.onnx")
    segmenter = OnnxSegmenter(path, device="cpu")
    assert segmenter.output == "probabilities" and segmenter.input_size == (64, 64) and segmenter.batch_size is None
    pixels = np.random.default_rng(0).uniform(0, 500, (2, 3, 64, 64)).astype(np.float32)
    probabilities = segmenter.predict_probabilities(pixels)
    np.testing.assert_allclose(probabilities, expected_probabilities(pixels, weight, bias), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(segmenter.predict_batch(pixels), probabilities)  # the graph's output as it is


def test_format_1_gives_probabilities_through_a_softmax(tmp_path):
    segmenter = OnnxSegmenter(conv_model(tmp_path / "m.onnx"), device="cpu")
    assert segmenter.output == "logits" and segmenter.input_size is None and segmenter.batch_size is None
    pixels = np.random.default_rng(0).uniform(0, 500, (2, 3, 5, 7)).astype(np.float32)
    logits = segmenter.predict_batch(pixels)
    probabilities = segmenter.predict_probabilities(pixels)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(probabilities.argmax(axis=1), logits.argmax(axis=1))
    np.testing.assert_allclose(np.log(probabilities[:, 1] / probabilities[:, 0]), logits[:, 1] - logits[:, 0], atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (3, 3, 100, 150), (1, 3, 64, 200)])
def test_a_fixed_size_is_padded_or_covered_by_windows(tmp_path, shape):
    """The 1 x 1 conv sees each pixel alone, so padding and windows must give exactly the per-pixel answer."""
    path, weight, bias = static_softmax_model(tmp_path / "m.onnx")
    segmenter = OnnxSegmenter(path, device="cpu")
    pixels = np.random.default_rng(1).uniform(0, 500, shape).astype(np.float32)
    probabilities = segmenter.predict_probabilities(pixels)
    assert probabilities.shape == (shape[0], 3, *shape[2:])
    np.testing.assert_allclose(probabilities, expected_probabilities(pixels, weight, bias), rtol=1e-5, atol=1e-6)


def test_a_fixed_batch_is_run_in_chunks(tmp_path):
    path, weight, bias = static_softmax_model(tmp_path / "m.onnx", size=32, batch=2)
    segmenter = OnnxSegmenter(path, device="cpu")
    assert segmenter.batch_size == 2
    pixels = np.random.default_rng(2).uniform(0, 500, (5, 3, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(segmenter.predict_probabilities(pixels), expected_probabilities(pixels, weight, bias),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case, message", [
    ("size_differs", "takes 32 x 32 px inputs but the metadata's tile_size is 64"),
    ("output_name", "an output 'probabilities'"),
    ("unknown_output", "output 'scores' must be one of logits, probabilities"),
    ("version_0", "format_version 0 is not supported"),
])
def test_format_2_mismatches_are_user_errors(tmp_path, case, message):
    meta = format_2(metadata(3, CLASSES, tile_size=64))
    kwargs = {}
    if case == "size_differs":
        kwargs["size"] = 32
    elif case == "output_name":
        kwargs["output"] = "logits"
    elif case == "unknown_output":
        meta["output"] = "scores"
    else:
        meta["format_version"] = 0
    path, _, _ = static_softmax_model(tmp_path / "m.onnx", meta=meta, **kwargs)
    with pytest.raises(UserError, match="m.onnx") as info:
        OnnxSegmenter(path, device="cpu")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_predict_keeps_to_a_fixed_size(tmp_path, run_cli):
    from inference_helpers import smooth_image, write_image

    path, weight, bias = static_softmax_model(tmp_path / "m.onnx")
    image = write_image(tmp_path / "image.tif", smooth_image(3, 40, 150))  # shorter than a tile: padded
    result = run_cli("predict", "--model", path, "--image", image, "--out", tmp_path / "a.tif",
                     "--probabilities", tmp_path / "p.tif")
    assert result.code == 0, result.err
    import rasterio

    with rasterio.open(tmp_path / "p.tif") as src:
        written = src.read()
    pixels = smooth_image(3, 40, 150)[None]
    np.testing.assert_allclose(written, expected_probabilities(pixels, weight, bias)[0], atol=1e-5)
    assert_user_error(run_cli("predict", "--model", path, "--image", image, "--out", tmp_path / "b.tif", "--tile", "128"),
                      "tile size 128", "64 px tiles only", "--tile 128")
    assert run_cli("predict", "--model", path, "--image", image, "--out", tmp_path / "c.tif", "--tile", "64").code == 0
    assert not (tmp_path / "b.tif").exists()
