import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from inference_helpers import CLASSES, TRANSFORM, conv_model, noisy_image, smooth_image, write_image
from qgis_noisyseg.core.errors import Cancelled, UserError
from qgis_noisyseg.core.progress import Reporter
from qgis_noisyseg.inference import OnnxSegmenter, predict_raster
from qgis_noisyseg.inference import sliding
from qgis_noisyseg.inference.grid import TileLayout
from qgis_noisyseg.inference.sliding import softmax

TILE, OVERLAP = 64, 16


@pytest.fixture
def linear(tmp_path):
    return OnnxSegmenter(conv_model(tmp_path / "linear.onnx", kernel=1), device="cpu", threads=1)


@pytest.fixture
def conv3(tmp_path):
    return OnnxSegmenter(conv_model(tmp_path / "conv3.onnx", kernel=3), device="cpu", threads=1)


def whole_image_probabilities(segmenter, pixels):
    return softmax(segmenter.predict_batch(pixels[None]))[0]


def read(path, **kwargs):
    with rasterio.open(path) as src:
        return src.read(**kwargs)


def predict_probabilities(segmenter, image, tmp_path, **kwargs):
    outputs = predict_raster(segmenter, image, tmp_path / "pred.tif",
                             probabilities_path=tmp_path / "probs.tif", **kwargs)
    return read(outputs["probabilities"]), outputs


def tile_edge_mask(layout, radius):
    """Pixels within ``radius`` of a tile side that lies inside the window, where a tile sees
    zero padding that the whole-image pass does not."""
    mask = np.zeros((layout.height, layout.width), dtype=bool)
    height, width = layout.valid_shape
    for row, col in layout.tiles:
        if row > 0:
            mask[row:row + radius, col:col + width] = True
        if row + height < layout.height:
            mask[row + height - radius:row + height, col:col + width] = True
        if col > 0:
            mask[row:row + height, col:col + radius] = True
        if col + width < layout.width:
            mask[row:row + height, col + width - radius:col + width] = True
    return mask


def test_linear_model_matches_a_whole_image_pass(linear, tmp_path):
    pixels = noisy_image(3, 150, 170)
    probabilities, outputs = predict_probabilities(linear, write_image(tmp_path / "img.tif", pixels), tmp_path)
    expected = whole_image_probabilities(linear, pixels)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(read(outputs["classes"])[0], expected.argmax(axis=0))


def test_3x3_model_matches_where_its_receptive_field_is_inside_the_tiles(conv3, tmp_path):
    pixels = noisy_image(3, 150, 170)
    probabilities, _ = predict_probabilities(conv3, write_image(tmp_path / "img.tif", pixels), tmp_path)
    expected = whole_image_probabilities(conv3, pixels)
    near_tile_edges = tile_edge_mask(TileLayout.plan(150, 170, TILE, OVERLAP), radius=1)
    assert near_tile_edges.any() and not near_tile_edges.all()
    np.testing.assert_allclose(probabilities[:, ~near_tile_edges], expected[:, ~near_tile_edges], atol=1e-5)
    # Where a tile border does reach, blending leaves only a small trace of its padding.
    assert np.abs(probabilities - expected).max() < 0.01


def test_image_smaller_than_a_tile_is_padded_and_cropped(linear, tmp_path):
    pixels = noisy_image(3, 20, 45)
    probabilities, outputs = predict_probabilities(linear, write_image(tmp_path / "img.tif", pixels), tmp_path)
    assert probabilities.shape == (3, 20, 45)
    np.testing.assert_allclose(probabilities, whole_image_probabilities(linear, pixels), atol=1e-5)


@pytest.mark.parametrize("kernel", [1, 3])
def test_no_seams_at_tile_borders(tmp_path, kernel):
    segmenter = OnnxSegmenter(conv_model(tmp_path / "m.onnx", kernel=kernel), device="cpu")
    image = write_image(tmp_path / "img.tif", smooth_image(3, 150, 170))
    outputs = predict_raster(segmenter, image, tmp_path / "pred.tif", confidence_path=tmp_path / "conf.tif",
                             confidence_dtype="float32", probabilities_path=tmp_path / "probs.tif")
    layout = TileLayout.plan(150, 170, TILE, OVERLAP)
    for values in (read(outputs["confidence"])[0], read(outputs["probabilities"])[1]):
        for axis, origins, length, size in ((1, layout.col_origins, layout.tile_width, 170),
                                            (0, layout.row_origins, layout.tile_height, 150)):
            steps = np.abs(np.diff(values, axis=axis))
            borders = sorted({o - 1 for o in origins if o > 0} | {o + length - 1 for o in origins if o + length < size})
            at_borders = np.take(steps, borders, axis=axis).max()
            elsewhere = np.delete(steps, borders, axis=axis).max()
            assert at_borders <= elsewhere + 1e-6


def test_output_rasters_are_georeferenced_styled_and_masked(linear, tmp_path):
    pixels = noisy_image(3, 150, 170)
    pixels[:, 10:30, 40:90] = -9999.0
    image = write_image(tmp_path / "img.tif", pixels, nodata=-9999.0)
    outputs = predict_raster(linear, image, tmp_path / "out" / "pred.tif", confidence_path=tmp_path / "conf.tif",
                             probabilities_path=tmp_path / "probs.tif")
    assert set(outputs) == {"classes", "style", "confidence", "confidence_style", "probabilities"}

    with rasterio.open(outputs["classes"]) as src:
        assert src.crs.to_epsg() == 32632 and src.transform == TRANSFORM
        assert (src.width, src.height, src.dtypes[0], src.nodata) == (170, 150, "uint8", 255)
        assert src.block_shapes[0] == (256, 256) and src.profile["compress"] == "deflate"
        assert src.overviews(1) == [2]
        colormap = src.colormap(1)
        assert colormap[1] == (0xe6, 0xc3, 0x5c, 255) and colormap[255][3] == 0
        assert src.tags(1)["CLASS_2"] == CLASSES[2]["name"]
        classes = src.read(1)
    assert np.all(classes[10:30, 40:90] == 255)
    assert np.all(np.delete(classes, np.s_[10:30], axis=0) < 3)

    confidence = read(outputs["confidence"])[0]
    assert np.all(confidence[10:30, 40:90] == 255)
    valid_confidence = np.delete(confidence, np.s_[10:30], axis=0)
    assert valid_confidence.min() >= 33 and valid_confidence.max() <= 100
    assert np.all(read(outputs["probabilities"])[:, 10:30, 40:90] == -1.0)

    palette = ET.parse(outputs["style"]).getroot().find("pipe/rasterrenderer/colorPalette")
    entries = [(e.get("value"), e.get("color"), e.get("label")) for e in palette]
    assert entries == [(str(c["id"]), c["color"], c["name"]) for c in CLASSES]
    assert ET.parse(outputs["confidence_style"]).getroot().find("pipe/rasterrenderer").get("type") == "singlebandpseudocolor"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pred.qml", "pred.tif"]


def test_extent_clips_the_prediction(linear, tmp_path):
    pixels = noisy_image(3, 150, 170)
    pixels[:, 0:40, 0:25] = -9999.0
    image = write_image(tmp_path / "img.tif", pixels, nodata=-9999.0)
    # Columns 20..100.5 and rows 30..90: the half column is included whole.
    extent = (500000 + 20 * 10, 6200000 - 90 * 10, 500000 + 100.5 * 10, 6200000 - 30 * 10)
    probabilities, outputs = predict_probabilities(linear, image, tmp_path, extent=extent)
    with rasterio.open(outputs["classes"]) as src:
        assert src.transform == from_origin(500200, 6199700, 10, 10)
        assert (src.height, src.width) == (60, 81)
        classes = src.read(1)
    assert np.all(classes[:10, :5] == 255) and np.all(classes[10:] < 3) and np.all(classes[:, 5:] < 3)
    expected = whole_image_probabilities(linear, pixels)[:, 30:90, 20:101]
    np.testing.assert_allclose(probabilities[:, 10:], expected[:, 10:], atol=1e-5)


@pytest.mark.parametrize("height,width,batch_size", [(300, 40, 1), (300, 40, 3), (530, 150, 2), (290, 150, 7)])
def test_streaming_matches_a_whole_image_pass_for_any_batching(linear, tmp_path, height, width, batch_size):
    pixels = noisy_image(3, height, width)
    image = write_image(tmp_path / "img.tif", pixels)
    probabilities, _ = predict_probabilities(linear, image, tmp_path, batch_size=batch_size)
    np.testing.assert_allclose(probabilities, whole_image_probabilities(linear, pixels), atol=1e-5)


def test_extent_partly_outside_is_clipped_to_the_image(linear, tmp_path):
    image = write_image(tmp_path / "img.tif", noisy_image(3, 50, 60))
    outputs = predict_raster(linear, image, tmp_path / "pred.tif", extent=(499000, 6199000, 500100, 6201000))
    with rasterio.open(outputs["classes"]) as src:
        assert src.transform == TRANSFORM and (src.height, src.width) == (50, 10)


def test_alpha_band_is_not_a_model_band(linear, tmp_path):
    pixels = np.concatenate([noisy_image(3, 40, 40), np.full((1, 40, 40), 255, np.float32)])
    image = write_image(tmp_path / "img.tif", pixels, alpha=True)
    probabilities, _ = predict_probabilities(linear, image, tmp_path)
    np.testing.assert_allclose(probabilities, whole_image_probabilities(linear, pixels[:3]), atol=1e-5)


def test_resolution_mismatch_is_a_warning(linear, tmp_path):
    image = tmp_path / "img.tif"
    with rasterio.open(image, "w", driver="GTiff", width=40, height=40, count=3, dtype="float32",
                       crs="EPSG:32632", transform=from_origin(0, 0, 2.5, 2.5)) as dst:
        dst.write(noisy_image(3, 40, 40))
    reporter = Reporter(quiet=True)
    predict_raster(linear, image, tmp_path / "pred.tif", reporter=reporter)
    assert len(reporter.warnings) == 1 and "resolution" in reporter.warnings[0]


@pytest.mark.parametrize("problem,match", [
    ("bands", "4 bands"),
    ("georeferencing", "no georeferencing"),
    ("extent", "does not intersect"),
    ("tile", "multiple of 32"),
    ("overlap", "overlap"),
])
def test_errors_are_user_errors(linear, tmp_path, problem, match):
    pixels = noisy_image(4 if problem == "bands" else 3, 40, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        image = write_image(tmp_path / "img.tif", pixels, georeferenced=problem != "georeferencing")
    arguments = {"extent": (0, 0, 10, 10)} if problem == "extent" else \
        {"tile": 48} if problem == "tile" else {"tile": 64, "overlap": 64} if problem == "overlap" else {}
    with pytest.raises(UserError, match=match) as info:
        predict_raster(linear, image, tmp_path / "pred.tif", **arguments)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.tif", "linear.onnx"]


class CancelAfterFirstBatch(Reporter):
    def progress(self, stage, done, total, **extra):
        self.cancel.cancel()
        super().progress(stage, done, total, **extra)


def test_cancellation_leaves_no_files(linear, tmp_path):
    image = write_image(tmp_path / "img.tif", noisy_image(3, 150, 170))
    reporter = CancelAfterFirstBatch(quiet=True)
    with pytest.raises(Cancelled):
        predict_raster(linear, image, tmp_path / "pred.tif", confidence_path=tmp_path / "conf.tif",
                       probabilities_path=tmp_path / "probs.tif", batch_size=1, reporter=reporter)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.tif", "linear.onnx"]


def test_accumulation_buffer_does_not_grow_with_image_height(linear, tmp_path, monkeypatch):
    buffer_shapes = []

    class RecordingAccumulator(sliding.StripAccumulator):
        def __init__(self, *args):
            super().__init__(*args)
            buffer_shapes.append(self.weighted_sum.shape)

    monkeypatch.setattr(sliding, "StripAccumulator", RecordingAccumulator)
    for height in (700, 1400):
        image = write_image(tmp_path / f"img{height}.tif", noisy_image(3, height, 40))
        predict_raster(linear, image, tmp_path / f"pred{height}.tif")
        with rasterio.open(tmp_path / f"pred{height}.tif") as src:
            assert src.height == height and (src.read(1) < 3).all()
    assert buffer_shapes[0] == buffer_shapes[1]
    assert buffer_shapes[0][1] < 700
