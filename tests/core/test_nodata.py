"""Nodata as an operator expects it (core.nodata): a black or white border with no nodata tag
is found and treated as nodata; dark pixels inside the image are not; --nodata overrides;
NaN is nodata everywhere. Export, its statistics and prediction all follow it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from qgis_noisyseg.core.nodata import detect_collar, resolve_nodata
from tests.conftest import DENMARK, OLD_MAP, assert_user_error

PAD = 60


def write(path, pixels, *, nodata=None, transform=None, crs="EPSG:32632"):
    count, height, width = pixels.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=count, dtype=pixels.dtype,
                       crs=crs, transform=transform or Affine(10, 0, 500000, 0, -10, 6200000), nodata=nodata) as dst:
        dst.write(pixels)
    return path


def footprint(height: int, width: int) -> np.ndarray:
    """A diamond-ish survey footprint, as an orthomosaic's: True inside."""
    rows, cols = np.mgrid[:height, :width]
    centre_r, centre_c = height / 2, width / 2
    return (np.abs(rows - centre_r) / (height / 2) + np.abs(cols - centre_c) / (width / 2)) <= 1.15


@pytest.fixture(scope="module")
def denmark():
    with rasterio.open(DENMARK / "RGB_small.tif") as src:
        return src.read(), src.transform


def collared(tmp_path, denmark, value=0, name="collar.tif"):
    """The Denmark scene inside a footprint, the rest ``value`` in every band, no nodata tag."""
    pixels, transform = denmark
    pixels = np.maximum(pixels, 1)  # no real pixel is 0 in every band: only the collar is
    inside = footprint(*pixels.shape[1:])
    image = np.where(inside[None], pixels, np.uint16(value)).astype(np.uint16)
    return write(tmp_path / name, image, transform=transform), inside


def test_a_black_collar_is_found_exactly(tmp_path, denmark):
    path, inside = collared(tmp_path, denmark, 0)
    with rasterio.open(path) as src:
        nodata = resolve_nodata(src)
        valid = nodata.valid(src, Window(0, 0, src.width, src.height))
    assert nodata.source == "collar" and nodata.value == 0
    np.testing.assert_array_equal(valid, inside)  # the footprint is convex along rows and columns
    assert nodata.collar_fraction == pytest.approx(1 - inside.mean(), abs=1e-9)
    assert "black border" in nodata.message() and "--nodata none" in nodata.message()


def test_a_white_collar_is_found(tmp_path, denmark):
    path, inside = collared(tmp_path, denmark, 255)
    with rasterio.open(path) as src:
        pixels = np.where(inside[None], np.where(src.read() == 255, 256, src.read()), 255).astype(np.uint16)
    write(path, pixels)
    with rasterio.open(path) as src:
        nodata = resolve_nodata(src)
        valid = nodata.valid(src, Window(0, 0, src.width, src.height))
    assert nodata.source == "collar" and nodata.value == 255 and "white border" in nodata.message()
    np.testing.assert_array_equal(valid, inside)


def test_dark_water_is_not_a_collar(tmp_path, denmark):
    """Real water is dark but not 0 in every band; a lake of exact zeros inside the image does not
    reach the edge; a strip of zeros along one edge narrower than 1 % is not enough."""
    pixels, transform = denmark
    pixels = np.maximum(pixels, 1).astype(np.uint16)
    pixels[:, :, :40] = np.array([3, 2, 1], dtype=np.uint16)[:, None, None]  # dark water along the west edge
    pixels[:, 150:200, 150:220] = 0  # a lake of exact zeros, inside
    pixels[:, :2, 300:310] = 0  # a few zero pixels on the edge: 20 px
    path = write(tmp_path / "water.tif", pixels, transform=transform)
    with rasterio.open(path) as src:
        nodata = resolve_nodata(src)
        valid = nodata.valid(src, Window(0, 0, src.width, src.height))
    assert nodata.source == "file" and nodata.collar is None
    assert valid.all()


def test_a_tag_wins_and_nodata_none_keeps_the_collar(tmp_path, denmark, run_cli):
    path, inside = collared(tmp_path, denmark, 0)
    with rasterio.open(path) as src:
        assert resolve_nodata(src, "none").collar is None
        valid = resolve_nodata(src, "none").valid(src, Window(0, 0, src.width, src.height))
    assert valid.all()
    tagged = write(tmp_path / "tagged.tif", rasterio.open(path).read(), nodata=7, transform=denmark[1])
    with rasterio.open(tagged) as src:
        assert resolve_nodata(src).source == "file" and resolve_nodata(src).value == 7.0
        override = resolve_nodata(src, "0")
        assert override.source == "value" and override.value == 0
        np.testing.assert_array_equal(override.valid(src, Window(0, 0, src.width, src.height)), inside)


def export(run_cli, image, out, *extra):
    return run_cli("export", "--image", image, "--labels", DENMARK / OLD_MAP, "--field", "AfgKode", "--classes",
                   DENMARK / "classes.json", "--tile", "64", "--min-valid", "0.01", "--out", out, *extra)


def test_export_ignores_the_collar_in_masks_and_statistics(tmp_path, denmark, run_cli):
    path, inside = collared(tmp_path, denmark, 0)
    result = export(run_cli, path, tmp_path / "ds", "--json")
    assert result.code == 0, result.err
    warnings = [e["message"] for e in result.events() if e["event"] == "warning"]
    assert any(m.startswith("treating the black border (") for m in warnings)
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["image"]["nodata_source"]["source"] == "collar"
    assert manifest["image"]["nodata_source"]["collar_fraction"] == pytest.approx(1 - inside.mean(), abs=1e-6)
    # statistics of the real pixels only (every 4th pixel of the train tiles)
    with rasterio.open(path) as src:
        pixels = src.read().astype(np.float64)
    train = [t for t in manifest["tiles"] if t["split"] == "train"]
    values = []
    for t in train:
        w = t["window"]
        block = pixels[:, w["row_off"]:w["row_off"] + 64:4, w["col_off"]:w["col_off"] + 64:4]
        keep = inside[w["row_off"]:w["row_off"] + 64:4, w["col_off"]:w["col_off"] + 64:4]
        values.append(block[:, keep])
    values = np.concatenate(values, axis=1)
    np.testing.assert_allclose(manifest["band_stats"]["mean"], values.mean(axis=1), rtol=1e-9)
    assert min(manifest["band_stats"]["mean"]) > 100  # zeros would pull the means down
    for t in manifest["tiles"]:
        with rasterio.open(tmp_path / "ds" / t["mask"]) as m, rasterio.open(tmp_path / "ds" / t["image"]) as i:
            w = t["window"]
            tile_inside = inside[w["row_off"]:w["row_off"] + 64, w["col_off"]:w["col_off"] + 64]
            assert (m.read(1)[~tile_inside] == 255).all()
            np.testing.assert_array_equal(i.dataset_mask() > 0, tile_inside)
    # the same image with --nodata none: the collar is data, and the means fall
    assert export(run_cli, path, tmp_path / "kept", "--nodata", "none").code == 0
    kept = json.loads((tmp_path / "kept" / "manifest.json").read_text())
    assert kept["image"]["nodata_source"]["source"] == "none"
    assert all(k < c for k, c in zip(kept["band_stats"]["mean"], manifest["band_stats"]["mean"]))


def test_nan_pixels_are_nodata_in_export(tmp_path, denmark, run_cli):
    pixels, transform = denmark
    pixels = pixels.astype(np.float32)
    pixels[:, 100:180, 50:250] = np.nan
    pixels[1, 300:310, 300:310] = np.inf
    path = write(tmp_path / "nan.tif", pixels, transform=transform)
    assert export(run_cli, path, tmp_path / "ds").code == 0
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert all(np.isfinite(manifest["band_stats"]["mean"])) and all(np.isfinite(manifest["band_stats"]["std"]))
    finite = np.isfinite(pixels).all(axis=0)
    for t in manifest["tiles"]:
        w = t["window"]
        tile_finite = finite[w["row_off"]:w["row_off"] + 64, w["col_off"]:w["col_off"] + 64]
        with rasterio.open(tmp_path / "ds" / t["mask"]) as m, rasterio.open(tmp_path / "ds" / t["image"]) as i:
            assert (m.read(1)[~tile_finite] == 255).all()
            assert np.isfinite(i.read()).all()
            np.testing.assert_array_equal(i.dataset_mask() > 0, tile_finite)


def test_bad_nodata_and_an_image_with_no_data(tmp_path, denmark, run_cli):
    path, _ = collared(tmp_path, denmark, 0)
    for value, fragment in (("-1", "does not fit"), ("70000", "does not fit"), ("1.5", "does not fit"),
                            ("black", "not a number")):
        assert_user_error(export(run_cli, path, tmp_path / "ds", "--nodata", value), "--nodata", fragment)
    empty = write(tmp_path / "black.tif", np.zeros((3, 200, 200), dtype=np.uint8))
    assert_user_error(export(run_cli, empty, tmp_path / "ds"), "holds no data", "--nodata none")
    assert not (tmp_path / "ds").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["black.tif", "collar.tif"]


def test_detection_reads_nothing_more_when_no_edge_pixel_qualifies(tmp_path, denmark):
    pixels, transform = denmark
    path = write(tmp_path / "plain.tif", np.maximum(pixels, 1).astype(np.uint16), transform=transform)
    with rasterio.open(path) as src:
        assert detect_collar(src, [1, 2, 3]) is None


def test_prediction_leaves_nodata_as_nodata(tmp_path, denmark, run_cli):
    """The collar and NaN pixels come out as the class raster's nodata (255) and the
    confidence's (255), every other pixel gets a class; --nodata none predicts the collar too."""
    from tests.inference.inference_helpers import conv_model

    model = conv_model(tmp_path / "m.onnx")
    path, inside = collared(tmp_path, denmark, 0)
    assert run_cli("predict", "--model", model, "--image", path, "--out", tmp_path / "p.tif",
                   "--confidence", tmp_path / "c.tif").code == 0
    with rasterio.open(tmp_path / "p.tif") as p, rasterio.open(tmp_path / "c.tif") as c:
        classes, confidence = p.read(1), c.read(1)
    np.testing.assert_array_equal(classes == 255, ~inside)
    np.testing.assert_array_equal(confidence == 255, ~inside)
    assert run_cli("predict", "--model", model, "--image", path, "--out", tmp_path / "all.tif",
                   "--nodata", "none").code == 0
    with rasterio.open(tmp_path / "all.tif") as p:
        assert (p.read(1) != 255).all()

    pixels, transform = denmark
    pixels = pixels.astype(np.float32)
    pixels[:, 100:180, 50:250] = np.nan
    nan_image = write(tmp_path / "nan.tif", pixels, transform=transform)
    assert run_cli("predict", "--model", model, "--image", nan_image, "--out", tmp_path / "n.tif").code == 0
    with rasterio.open(tmp_path / "n.tif") as p:
        np.testing.assert_array_equal(p.read(1) == 255, ~np.isfinite(pixels).all(axis=0))


def test_predict_refuses_what_export_refuses(tmp_path, run_cli):
    from tests.inference.inference_helpers import conv_model

    model = conv_model(tmp_path / "m.onnx")
    for dtype in ("int8", "float64", "uint32", "complex64"):
        image = write(tmp_path / f"{dtype}.tif", np.ones((3, 64, 64), dtype=dtype))
        assert_user_error(run_cli("predict", "--model", model, "--image", image, "--out", tmp_path / "p.tif"),
                          f"data type {dtype}", "gdal_translate -ot")
    image = write(tmp_path / "u8.tif", np.ones((3, 64, 64), dtype="uint8"))
    assert_user_error(run_cli("predict", "--model", model, "--image", image, "--out", tmp_path / "p.tif",
                              "--nodata", "300"), "--nodata 300", "does not fit")
    assert not (tmp_path / "p.tif").exists()
