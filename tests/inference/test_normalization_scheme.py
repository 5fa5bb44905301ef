"""The "image" normalisation scheme (issue 12): a model standardises each image by its own
statistics, so a brightened copy of an image (another flight) gets the same prediction."""

import numpy as np
import pytest
import rasterio

from inference_helpers import MEAN, STD, conv_model, metadata, noisy_image, write_image
from qgis_noisyseg.core.errors import UserError
from qgis_noisyseg.inference import OnnxSegmenter, predict_raster


def image_model(tmp_path, scheme):
    meta = metadata()
    meta["normalization"]["scheme"] = scheme
    return OnnxSegmenter(conv_model(tmp_path / f"{scheme}.onnx", meta=meta))


def classes(path):
    with rasterio.open(path) as src:
        return src.read(1)


@pytest.mark.parametrize("scheme", ["image", "dataset"])
def test_a_brightened_image_gets_the_same_classes_only_with_the_image_scheme(tmp_path, scheme):
    segmenter = image_model(tmp_path, scheme)
    pixels = noisy_image(3, 96, 80)
    gain = np.array([1.6, 1.4, 1.3], dtype=np.float32)[:, None, None]
    original = write_image(tmp_path / "a.tif", pixels)
    brighter = write_image(tmp_path / "b.tif", (pixels * gain + 40).astype(np.float32))
    a = classes(predict_raster(segmenter, original, tmp_path / f"{scheme}_a.tif")["classes"])
    b = classes(predict_raster(segmenter, brighter, tmp_path / f"{scheme}_b.tif")["classes"])
    same = float((a == b).mean())
    if scheme == "image":
        assert same > 0.999
    else:
        assert same < 0.8


def test_image_statistics_exclude_nodata(tmp_path):
    from qgis_noisyseg.core.dataset import image_band_stats
    from qgis_noisyseg.core.nodata import resolve_nodata

    pixels = noisy_image(3, 64, 64)
    pixels[:, :, :20] = -9999.0
    path = write_image(tmp_path / "nd.tif", pixels, nodata=-9999.0)
    with rasterio.open(path) as src:
        stats = image_band_stats(src, [1, 2, 3], resolve_nodata(src, None, [1, 2, 3]), step=1)
    valid = pixels[:, :, 20:].reshape(3, -1).astype(np.float64)
    assert stats["pixels"] == 64 * 44
    assert np.allclose(stats["mean"], valid.mean(axis=1)) and np.allclose(stats["std"], valid.std(axis=1, ddof=1))


def test_standardised_by_keeps_the_model_and_checks_its_input(tmp_path):
    segmenter = image_model(tmp_path, "image")
    assert segmenter.metadata.scheme == "image"
    other = segmenter.standardised_by([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert other.normalization == {"mean": [1.0, 2.0, 3.0], "std": [4.0, 5.0, 6.0]}
    assert segmenter.normalization == {"mean": MEAN, "std": STD}  # the original is untouched
    with pytest.raises(UserError, match="positive stds"):
        segmenter.standardised_by([1.0, 2.0, 3.0], [0.0, 1.0, 1.0])


def test_unknown_scheme_is_refused(tmp_path):
    with pytest.raises(UserError, match="normalization scheme 'tile'"):
        image_model(tmp_path, "tile")
