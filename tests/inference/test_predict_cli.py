"""`noisyseg predict` end to end: outputs, disagreement with an old map, --resample, bad input."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely

from tests.conftest import assert_user_error, sigterm_at_first_progress
from tests.inference.inference_helpers import CRS, TRANSFORM, conv_model, metadata, smooth_image, write_image

CLASSES = [{"id": 0, "name": "background", "color": "#000000", "values": []},
           {"id": 1, "name": "barley", "color": "#e6c35c", "values": ["barley"]},
           {"id": 2, "name": "wheat", "color": "#4daf4a", "values": ["wheat"]}]


@pytest.fixture
def model(tmp_path):
    meta = metadata(3, CLASSES)
    meta["provenance"]["label_field"] = "crop"
    return conv_model(tmp_path / "model.onnx", kernel=3, meta=meta)


@pytest.fixture
def image(tmp_path):
    return write_image(tmp_path / "image.tif", smooth_image(3, 150, 170))


def test_predict_writes_styled_outputs(tmp_path, run_cli, model, image):
    out = tmp_path / "pred.tif"
    result = run_cli("predict", "--model", model, "--image", image, "--out", out, "--confidence", tmp_path / "conf.tif",
                     "--probabilities", tmp_path / "probs.tif", "--json")
    assert result.code == 0, result.err
    done = [e for e in result.events() if e["event"] == "done"][0]["outputs"]
    assert done["provider"] == "CPUExecutionProvider"
    with rasterio.open(out) as src:
        assert src.crs.to_string() == CRS and src.transform == TRANSFORM and src.shape == (150, 170)
        assert src.colormap(1)[1][:3] == (0xe6, 0xc3, 0x5c) and src.overviews(1)
    assert (tmp_path / "pred.qml").exists() and (tmp_path / "conf.tif").exists()
    with rasterio.open(tmp_path / "probs.tif") as src:
        assert src.count == 3 and np.allclose(src.read().sum(axis=0), 1.0, atol=1e-4)
    progress = [e for e in result.events() if e["event"] == "progress"]
    assert progress and progress[-1]["done"] == progress[-1]["total"]


def test_disagreement_with_an_old_map(tmp_path, run_cli, model, image):
    out = tmp_path / "pred.tif"
    assert run_cli("predict", "--model", model, "--image", image, "--out", out).code == 0
    with rasterio.open(out) as src:
        predicted = src.read(1)
    # An "old map": one polygon over the left half saying barley, one over the right saying wheat.
    left, top = TRANSFORM.c, TRANSFORM.f
    polygons = [shapely.box(left, top - 1500, left + 850, top), shapely.box(left + 850, top - 1500, left + 1700, top)]
    old_map = tmp_path / "old.gpkg"
    pyogrio.raw.write(old_map, np.asarray(shapely.to_wkb(polygons), dtype=object),
                      [np.asarray(["barley", "wheat"], dtype=object)], ["crop"], crs=CRS, geometry_type="Polygon")
    result = run_cli("predict", "--model", model, "--image", image, "--out", out, "--overwrite",
                     "--disagreement-with", old_map, "--json")
    assert result.code == 0, result.err
    with rasterio.open(tmp_path / "pred_disagreement.tif") as src:
        disagreement = src.read(1)
    expected = np.where(np.arange(170)[None, :] < 85, 1, 2)
    np.testing.assert_array_equal(disagreement, (predicted != expected).astype(np.uint8))
    outputs = [e for e in result.events() if e["event"] == "done"][0]["outputs"]
    assert outputs["disagreement_fraction"] == pytest.approx((predicted != expected).mean(), abs=1e-4)
    assert (tmp_path / "pred_disagreement.qml").exists()


def test_resample_reads_at_the_model_resolution(tmp_path, run_cli, model):
    # A 5 m image for a 10 m model: read at 10 m, written back on the 5 m grid.
    pixels = smooth_image(3, 128, 128)
    fine = tmp_path / "fine.tif"
    with rasterio.open(fine, "w", driver="GTiff", width=128, height=128, count=3, dtype="float32", crs=CRS,
                       transform=rasterio.Affine(5, 0, TRANSFORM.c, 0, -5, TRANSFORM.f)) as dst:
        dst.write(pixels)
    warned = run_cli("predict", "--model", model, "--image", fine, "--out", tmp_path / "plain.tif", "--json")
    assert any("resolution" in e["message"] for e in warned.events() if e["event"] == "warning")
    result = run_cli("predict", "--model", model, "--image", fine, "--out", tmp_path / "resampled.tif", "--resample",
                     "--confidence", tmp_path / "conf.tif")
    assert result.code == 0, result.err
    with rasterio.open(tmp_path / "resampled.tif") as src:
        assert src.shape == (128, 128) and src.res == (5.0, 5.0)
        resampled = src.read(1)
        assert src.colormap(1)[2][:3] == (0x4d, 0xaf, 0x4a)
    # each 10 m prediction covers a 2 x 2 block of the fine grid
    assert (resampled[0::2, 0::2] == resampled[1::2, 1::2]).mean() > 0.97
    assert (tmp_path / "resampled.qml").exists()


def test_bad_inputs(tmp_path, run_cli, model, image):
    four_bands = write_image(tmp_path / "four.tif", smooth_image(4, 64, 64))
    assert_user_error(run_cli("predict", "--model", model, "--image", four_bands, "--out", tmp_path / "a.tif"),
                      "4 bands", "expects 3")
    no_geo = write_image(tmp_path / "nogeo.tif", smooth_image(3, 64, 64), georeferenced=False)
    assert_user_error(run_cli("predict", "--model", model, "--image", no_geo, "--out", tmp_path / "b.tif"),
                      "no georeferencing")
    far = ["0", "0", "10", "10"]
    assert_user_error(run_cli("predict", "--model", model, "--image", image, "--out", tmp_path / "c.tif", "--extent", *far),
                      "extent")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(np.random.default_rng(0).bytes(2048))
    assert_user_error(run_cli("predict", "--model", corrupt, "--image", image, "--out", tmp_path / "d.tif"), "corrupt.onnx")
    (tmp_path / "e.tif").write_text("mine")
    assert_user_error(run_cli("predict", "--model", model, "--image", image, "--out", tmp_path / "e.tif"), "--overwrite")
    assert not any(p.name.startswith(("a.", "b.", "c.", "d.")) for p in tmp_path.iterdir())


def test_sigterm_leaves_no_half_raster(tmp_path, model):
    big = write_image(tmp_path / "big.tif", smooth_image(3, 1024, 1024))
    result = sigterm_at_first_progress("predict", "--model", model, "--image", big, "--out", tmp_path / "pred.tif",
                                       "--tile", "64", "--overlap", "32", "--batch-size", "1", "--threads", "1")
    assert result.code == 130, result.err
    assert '"cancelled"' in result.out and "Traceback" not in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tif", "model.onnx"]


def test_every_output_block_is_written_once(tmp_path, run_cli, model):
    """Rows arrive a strip at a time; a part-written compressed block written again would grow the file."""
    import rasterio.shutil

    image = write_image(tmp_path / "tall.tif", smooth_image(3, 700, 600))
    out = tmp_path / "pred.tif"
    assert run_cli("predict", "--model", model, "--image", image, "--out", out, "--probabilities", tmp_path / "p.tif",
                   "--tile", "64", "--overlap", "16").code == 0
    for path in (out, tmp_path / "p.tif"):
        fresh = tmp_path / f"fresh_{path.name}"
        rasterio.shutil.copy(path, fresh, driver="GTiff", tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                             COPY_SRC_OVERVIEWS="YES")
        assert path.stat().st_size <= 1.02 * fresh.stat().st_size, path.name
