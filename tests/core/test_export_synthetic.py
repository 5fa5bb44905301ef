"""Export on small synthetic rasters: band counts, dtypes, valid area, burn order, splits, classes."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from qgis_noisyseg.core.classes import ClassMap
from qgis_noisyseg.core.export import export_dataset
from qgis_noisyseg.core.grid import assign_splits, tile_rows
from qgis_noisyseg.core.progress import Reporter

ORIGIN = (500000.0, 6000000.0)


def make_image(path, count=3, dtype="uint16", size=(96, 128), nodata=None, alpha_zero_cols=0, crs="EPSG:32632"):
    height, width = size
    rng = np.random.default_rng(0)
    data = (rng.random((count, height, width)) * 200 + 10).astype(dtype)
    bands = count + (1 if alpha_zero_cols else 0)
    profile = dict(driver="GTiff", width=width, height=height, count=bands, dtype=dtype, crs=crs, nodata=nodata,
                   transform=from_origin(*ORIGIN, 1.0, 1.0))
    if alpha_zero_cols:
        profile["photometric"] = "RGB" if count == 3 else None
        profile = {k: v for k, v in profile.items() if v is not None}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, list(range(1, count + 1)))
        if alpha_zero_cols:
            alpha = np.full((height, width), 255, dtype=dtype)
            alpha[:, :alpha_zero_cols] = 0
            dst.write(alpha, bands)
            dst.colorinterp = [*dst.colorinterp[:count], rasterio.enums.ColorInterp.alpha]
    return data


def write_polygons(path, geoms, values, crs="EPSG:32632"):
    pyogrio.raw.write(path, np.asarray(shapely.to_wkb(geoms), dtype=object), [np.asarray(values, dtype=object)],
                      ["cls"], crs=crs, geometry_type="Polygon", driver="GPKG")


def box_px(c0, r0, c1, r1):
    """A box in pixel columns/rows of the synthetic image (1 m pixels, north-up)."""
    x0, y0 = ORIGIN
    return shapely.box(x0 + c0, y0 - r1, x0 + c1, y0 - r0)


def read(path):
    with rasterio.open(path) as src:
        return src.read(), src.profile


@pytest.mark.parametrize("count,dtype", [(1, "uint8"), (3, "uint16"), (5, "float32"), (4, "int16")])
def test_any_band_count_and_dtype(tmp_path, count, dtype):
    image = tmp_path / "img.tif"
    data = make_image(image, count=count, dtype=dtype)
    labels = tmp_path / "labels.gpkg"
    write_polygons(labels, [box_px(0, 0, 64, 32)], ["a"])
    export_dataset(image, [str(labels)], tmp_path / "ds", field="cls", tile=32, reporter=Reporter(quiet=True))
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["image"]["count"] == count and manifest["image"]["dtype"] == dtype
    tile = next(t for t in manifest["tiles"] if t["id"] == "r000032_c000064")
    pixels, profile = read(tmp_path / "ds" / tile["image"])
    np.testing.assert_array_equal(pixels, data[:, 32:64, 64:96])
    assert profile["crs"].to_epsg() == 32632
    assert profile["transform"].c == ORIGIN[0] + 64 and profile["transform"].f == ORIGIN[1] - 32
    valid = np.concatenate([data[b].ravel() for b in range(count)]).reshape(count, -1)
    assert len(manifest["band_stats"]["mean"]) == count
    assert np.all(np.abs(np.array(manifest["band_stats"]["mean"]) - valid.mean(axis=1)) < 0.1 * valid.std(axis=1) + 1)


def test_nodata_and_alpha_become_ignore(tmp_path):
    image = tmp_path / "img.tif"
    make_image(image, count=3, dtype="uint8", alpha_zero_cols=40)
    labels = tmp_path / "labels.gpkg"
    write_polygons(labels, [box_px(0, 0, 128, 96)], ["a"])
    export_dataset(image, [str(labels)], tmp_path / "ds", field="cls", tile=32, min_valid=0.0,
                   unlabeled="background", reporter=Reporter(quiet=True))
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["image"]["count"] == 3, "the alpha band is valid-area information, not a data band"
    first = next(t for t in manifest["tiles"] if t["id"] == "r000000_c000032")
    mask, _ = read(tmp_path / "ds" / first["mask"])
    assert (mask[0, :, :8] == 255).all() and (mask[0, :, 8:] == 1).all()
    assert first["valid_fraction"] == pytest.approx(24 / 32)
    # with the default --min-valid 0.5 the fully invalid first column of tiles is skipped
    export_dataset(image, [str(labels)], tmp_path / "ds2", field="cls", tile=32, reporter=Reporter(quiet=True))
    kept = {t["id"] for t in json.loads((tmp_path / "ds2" / "manifest.json").read_text())["tiles"]}
    assert not any(t.endswith("_c000000") for t in kept) and any(t.endswith("_c000032") for t in kept)


def test_nodata_value(tmp_path):
    image = tmp_path / "img.tif"
    with rasterio.open(image, "w", driver="GTiff", width=64, height=64, count=2, dtype="uint16", nodata=0,
                       crs="EPSG:32632", transform=from_origin(*ORIGIN, 1, 1)) as dst:
        data = np.full((2, 64, 64), 500, dtype="uint16")
        data[:, :16, :] = 0
        dst.write(data)
    labels = tmp_path / "labels.gpkg"
    write_polygons(labels, [box_px(0, 0, 64, 64)], ["a"])
    export_dataset(image, [str(labels)], tmp_path / "ds", field="cls", tile=64, min_valid=0.1, reporter=Reporter(quiet=True))
    mask, _ = read(tmp_path / "ds" / "masks" / "r000000_c000000.tif")
    assert (mask[0, :16] == 255).all() and (mask[0, 16:] == 1).all()


def test_later_sources_burn_over_earlier_and_unlabeled(tmp_path):
    image = tmp_path / "img.tif"
    make_image(image, size=(64, 64))
    first, second = tmp_path / "first.gpkg", tmp_path / "second.gpkg"
    write_polygons(first, [box_px(0, 0, 48, 64)], ["wheat"])
    write_polygons(second, [box_px(32, 0, 64, 32)], ["maize"])
    for unlabeled, fill in (("ignore", 255), ("background", 0)):
        out = tmp_path / unlabeled
        export_dataset(image, [str(first), str(second)], out, field="cls", tile=64, unlabeled=unlabeled,
                       reporter=Reporter(quiet=True))
        classes = {c["name"]: c["id"] for c in json.loads((out / "classes.json").read_text())["classes"]}
        mask = read(out / "masks" / "r000000_c000000.tif")[0][0]
        assert (mask[:, :32] == classes["wheat"]).all()
        assert (mask[:32, 32:] == classes["maize"]).all()
        assert (mask[32:, 32:48] == classes["wheat"]).all()
        assert (mask[32:, 48:] == fill).all()


def test_classes_file_and_unmatched_values(tmp_path, run_cli):
    image = tmp_path / "img.tif"
    make_image(image, size=(64, 64))
    labels = tmp_path / "labels.gpkg"
    write_polygons(labels, [box_px(0, 0, 32, 64), box_px(32, 0, 64, 32), box_px(32, 32, 64, 64)], ["1", "2", "9"])
    classes = tmp_path / "classes.json"
    classes.write_text(json.dumps({"classes": [{"id": 1, "name": "cereal", "color": "#e6c35c", "values": [1, "2"]}]}))
    out = tmp_path / "ds"
    result = run_cli("export", "--image", image, "--labels", labels, "--field", "cls", "--classes", classes,
                     "--tile", "64", "--json", "--out", out)
    assert result.code == 0, result.err
    assert any("'9' (1)" in e["message"] for e in result.events() if e["event"] == "warning")
    mask = read(out / "masks" / "r000000_c000000.tif")[0][0]
    assert (mask[:, :32] == 1).all() and (mask[:32, 32:] == 1).all() and (mask[32:, 32:] == 255).all()
    saved = json.loads((out / "classes.json").read_text())["classes"]
    assert [c["id"] for c in saved] == [0, 1]
    done = [e for e in result.events() if e["event"] == "done"]
    assert done and done[0]["outputs"]["tiles"] == 1


def test_auto_classes_are_stable_and_distinct():
    a = ClassMap.from_values(["10", "2", "2", 3.0, None, "10"])
    b = ClassMap.from_values([3, "10", "2"])
    assert [c.name for c in a.classes] == ["background", "2", "3", "10"]
    assert [(c.id, c.name, c.color) for c in a.classes] == [(c.id, c.name, c.color) for c in b.classes]
    many = ClassMap.from_values([str(i) for i in range(60)])
    colors = [c.color for c in many.classes[1:]]
    assert len(set(colors)) == len(colors)


def test_overlapping_tiles_never_straddle_splits():
    rows = tile_rows(1000, 1200, 64, 16)
    tiles = [t for row in rows for t in row]
    assigned, dropped = assign_splits(tiles, (0.6, 0.2, 0.2), block_px=128, seed=3)
    assert dropped > 0 and set(assigned.values()) == {"train", "val", "test"}
    by_split = {s: [t for t, v in assigned.items() if v == s] for s in ("train", "val", "test")}
    for a in ("train", "val"):
        for b in ("val", "test"):
            if a == b:
                continue
            for ta in by_split[a]:
                for tb in by_split[b]:
                    overlap = (abs(ta.row_off - tb.row_off) < 64) and (abs(ta.col_off - tb.col_off) < 64)
                    assert not overlap, (ta, tb)
    shares = {s: len(v) / len(assigned) for s, v in by_split.items()}
    assert 0.45 < shares["train"] < 0.75


def test_grid_covers_the_whole_image():
    rows = tile_rows(413, 452, 64, 64)
    assert [r[0].row_off for r in rows] == [0, 64, 128, 192, 256, 320, 349]
    assert [t.col_off for t in rows[0]] == [0, 64, 128, 192, 256, 320, 384, 388]
