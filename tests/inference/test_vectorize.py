"""Vector results: `noisyseg vectorize`, `compare-map`, `predict --vectorize`, and an area of
interest (--aoi) in another CRS for predict, suggest and vectorize."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.warp import transform_geom

from qgis_noisyseg.inference.vector_style import default_style
from qgis_noisyseg.inference.vectorize import iter_features, vectorize
from tests.conftest import assert_user_error
from tests.inference.inference_helpers import CRS, TRANSFORM, conv_model, metadata, smooth_image, write_image

NAMES = {0: "background", 1: "water", 2: "forest"}
COLOURS = {0: (10, 10, 10, 255), 1: (0, 0, 255, 255), 2: (0, 160, 0, 255)}
PIXEL = 10.0
ORIGIN = (500000.0, 6200000.0)


def blobs(height: int = 600, width: int = 450, seed: int = 3) -> np.ndarray:
    """Smooth random class regions (so polygons cross many strips), a nodata corner, and a few
    single-pixel specks."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    field = np.sin(rows / 37.0 + rng.random()) + np.cos(cols / 29.0 + rng.random()) + 0.6 * np.sin((rows + cols) / 53.0)
    classes = np.digitize(field, [-0.5, 0.7]).astype(np.uint8)
    classes[:20, :30] = 255
    placed = 0
    for r, c in rng.integers(30, min(height, width) - 30, size=(400, 2)):
        if placed < 12 and (classes[r - 3:r + 4, c - 3:c + 4] == classes[r, c]).all():
            classes[r, c] = (classes[r, c] + 1) % 3  # an isolated speck inside a region
            placed += 1
    assert placed == 12
    return classes


def write_prediction(path, classes: np.ndarray, confidence: np.ndarray | None = None):
    profile = dict(driver="GTiff", width=classes.shape[1], height=classes.shape[0], count=1, dtype="uint8",
                   crs=CRS, transform=from_origin(*ORIGIN, PIXEL, PIXEL), nodata=255)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(classes, 1)
        dst.update_tags(1, **{f"CLASS_{k}": v for k, v in NAMES.items()})
        dst.write_colormap(1, COLOURS)
    if confidence is not None:
        with rasterio.open(path.with_name(f"{path.stem}_confidence.tif"), "w", **profile) as dst:
            dst.write(confidence, 1)
    return path


def features(path, layer="classes"):
    return list(iter_features(path, layer))


def test_polygon_areas_per_class_equal_pixel_counts(tmp_path, run_cli):
    classes = blobs()
    prediction = write_prediction(tmp_path / "p.tif", classes, np.full(classes.shape, 80, np.uint8))
    out = tmp_path / "p.gpkg"
    result = run_cli("vectorize", "--prediction", prediction, "--out", out, "--json")
    assert result.code == 0, result.err
    found = features(out)
    assert {f["class_name"] for f in found} == set(NAMES.values())
    assert all(f["class_name"] == NAMES[f["class_id"]] for f in found)
    assert all(f["confidence"] == pytest.approx(0.8) for f in found)  # found beside the prediction
    for class_id in NAMES:
        pixel_area = float((classes == class_id).sum()) * PIXEL * PIXEL
        polygon_area = sum(f["geometry"].area for f in found if f["class_id"] == class_id)
        assert abs(polygon_area / pixel_area - 1) < 0.01, (class_id, polygon_area, pixel_area)
    # the specks (one pixel, below the default 4-pixel minimum) are dropped, their holes filled
    summary = [e for e in result.events() if e["event"] == "done"][0]["outputs"]
    assert summary["dropped_polygons"] >= 12 and summary["filled_holes"] >= 12
    assert min(f["geometry"].area for f in found) >= 4 * PIXEL * PIXEL
    # styled by class, as QGIS stores a default style in a GeoPackage
    qml = default_style(out, "classes")
    assert 'type="categorizedSymbol"' in qml and 'attr="class_id"' in qml and 'label="water"' in qml
    assert '"0,0,255,255"' in qml


def test_strips_merge_into_the_same_polygons_as_one_pass(tmp_path):
    classes = blobs(300, 260)
    confidence = (np.arange(classes.size).reshape(classes.shape) % 101).astype(np.uint8)
    prediction = write_prediction(tmp_path / "p.tif", classes, confidence)
    conf = tmp_path / "p_confidence.tif"
    whole = vectorize(prediction, tmp_path / "whole.gpkg", confidence_path=conf, simplify=0, min_area=0,
                      strip_rows=10_000)
    strips = vectorize(prediction, tmp_path / "strips.gpkg", confidence_path=conf, simplify=0, min_area=0,
                       strip_rows=7)
    assert whole["polygons"] == strips["polygons"]
    one = sorted(features(tmp_path / "whole.gpkg"), key=lambda f: (f["class_id"], f["pixels"], f["geometry"].bounds))
    many = sorted(features(tmp_path / "strips.gpkg"), key=lambda f: (f["class_id"], f["pixels"], f["geometry"].bounds))
    for a, b in zip(one, many):
        assert (a["class_id"], a["pixels"]) == (b["class_id"], b["pixels"])
        assert a["confidence"] == pytest.approx(b["confidence"], abs=1e-12)
        assert a["geometry"].symmetric_difference(b["geometry"]).area == pytest.approx(0.0, abs=1e-6)
    # exact pixel outlines: every class's area is its pixel count, and the mean confidence is the pixels'
    for class_id in NAMES:
        assert sum(f["area"] for f in many if f["class_id"] == class_id) == (classes == class_id).sum() * PIXEL ** 2
    # a region too large to hold is cut along strip lines: parts, but the same pixels per class
    capped = vectorize(prediction, tmp_path / "capped.gpkg", confidence_path=conf, simplify=0, min_area=0,
                       strip_rows=7, max_region_vertices=300)
    parts = features(tmp_path / "capped.gpkg")
    assert capped["parts_cut"] > 0 and capped["polygons"] > strips["polygons"]
    assert max(shapely.get_num_coordinates(f["geometry"]) for f in parts) <= 300 + 4 * 7 * 260
    for class_id in NAMES:
        assert sum(f["pixels"] for f in parts if f["class_id"] == class_id) == (classes == class_id).sum()
    biggest = max(many, key=lambda f: f["pixels"])
    inside = rasterio.features.geometry_mask([biggest["geometry"]], classes.shape, from_origin(*ORIGIN, PIXEL, PIXEL),
                                             invert=True)
    assert biggest["confidence"] == pytest.approx(confidence[inside].mean() / 100)


def test_vectorize_refuses_what_it_cannot_use(tmp_path, run_cli):
    image = write_image(tmp_path / "image.tif", smooth_image(3, 40, 40))
    assert_user_error(run_cli("vectorize", "--prediction", image, "--out", tmp_path / "v.gpkg"), "--prediction",
                      "one uint8 band")
    prediction = write_prediction(tmp_path / "p.tif", blobs(120, 120))
    foreign = tmp_path / "mine.gpkg"
    pyogrio.raw.write(str(foreign), np.array([shapely.to_wkb(shapely.box(0, 0, 1, 1))], dtype=object), [], [],
                      layer="mine", driver="GPKG", crs=CRS, geometry_type="Polygon")
    before = foreign.read_bytes()
    assert_user_error(run_cli("vectorize", "--prediction", prediction, "--out", foreign, "--overwrite"),
                      "is not a noisyseg GeoPackage")
    assert foreign.read_bytes() == before
    out = tmp_path / "v.gpkg"
    assert run_cli("vectorize", "--prediction", prediction, "--out", out).code == 0
    assert_user_error(run_cli("vectorize", "--prediction", prediction, "--out", out), "already exists")
    assert run_cli("vectorize", "--prediction", prediction, "--out", out, "--overwrite").code == 0
    assert not [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or "noisyseg-lock" in p.name]


# -- compare-map --------------------------------------------------------------------------------


def pixel_box(r0, r1, c0, c1):
    x0, y0 = ORIGIN
    return shapely.box(x0 + c0 * PIXEL, y0 - r1 * PIXEL, x0 + c1 * PIXEL, y0 - r0 * PIXEL)


def test_compare_map_reports_known_changes_exactly(tmp_path, run_cli):
    classes = np.zeros((200, 200), np.uint8)
    classes[0:100, 0:100] = 1  # water where the old map says water: unchanged
    classes[0:100, 100:200] = 2  # forest where it says water: changed, confident
    classes[100:200, 0:100] = 2  # forest where it says background, but only 70 % of it
    classes[170:200, 0:100] = 0
    confidence = np.full(classes.shape, 90, np.uint8)
    confidence[100:200, 0:100] = 60
    prediction = write_prediction(tmp_path / "p.tif", classes, confidence)
    old = [("water", pixel_box(0, 100, 0, 100)), ("water", pixel_box(0, 100, 100, 200)),
           ("background", pixel_box(100, 200, 0, 100)), ("background", pixel_box(100, 200, 100, 200)),
           ("marsh", pixel_box(150, 160, 150, 160)), ("water", pixel_box(400, 410, 0, 10))]
    # the old map is in geographic coordinates: compare-map reprojects it, and keeps its CRS
    geographic = [shapely.geometry.shape(transform_geom(CRS, "EPSG:4326", shapely.geometry.mapping(g), precision=-1))
                  for _, g in old]
    old_map = tmp_path / "old.gpkg"
    pyogrio.raw.write(str(old_map), np.array(shapely.to_wkb(geographic), dtype=object),
                      [np.array([v for v, _ in old], dtype=object)], ["landuse"], layer="parcels", driver="GPKG",
                      crs="EPSG:4326", geometry_type="Polygon")
    result = run_cli("compare-map", "--prediction", prediction, "--labels", f"{old_map}:parcels", "--field",
                     "landuse", "--json")
    assert result.code == 0, result.err
    out = tmp_path / "p_changes.gpkg"
    rows = features(out, "map_changes")
    assert [r["source_fid"] for r in rows] == [2, 3, 1, 4, 5, 6]  # confident changes first
    by_fid = {r["source_fid"]: r for r in rows}
    assert (by_fid[2]["old_class"], by_fid[2]["predicted_class"], by_fid[2]["share"], by_fid[2]["changed"]) == \
        ("water", "forest", 1.0, 1)
    assert by_fid[2]["confidence"] == pytest.approx(0.9) and by_fid[2]["change_score"] == pytest.approx(0.9)
    assert (by_fid[3]["old_class"], by_fid[3]["predicted_class"], by_fid[3]["changed"]) == ("background", "forest", 1)
    assert by_fid[3]["share"] == pytest.approx(0.7, abs=0.011) and by_fid[3]["confidence"] == pytest.approx(0.6)
    assert (by_fid[1]["predicted_class"], by_fid[1]["share"], by_fid[1]["changed"]) == ("water", 1.0, 0)
    assert (by_fid[4]["predicted_class"], by_fid[4]["changed"]) == ("background", 0)
    assert by_fid[5]["old_class"] is None and np.isnan(by_fid[5]["changed"])  # "marsh" is no class
    assert by_fid[6]["predicted_class"] is None and by_fid[6]["predicted_pixels"] == 0  # outside the prediction
    assert pyogrio.read_info(out, layer="map_changes")["crs"] == "EPSG:4326"
    assert by_fid[2]["geometry"].geoms[0].equals_exact(geographic[1], 1e-9)  # the old geometry, as it was
    summary = [e for e in result.events() if e["event"] == "done"][0]["outputs"]
    assert (summary["features"], summary["compared"], summary["changed"]) == (6, 4, 2)
    assert 'attr="changed"' in default_style(out, "map_changes")


def test_compare_map_maps_values_through_the_model(tmp_path, run_cli):
    classes = np.zeros((64, 64), np.uint8)
    classes[:, 32:] = 1
    prediction = write_prediction(tmp_path / "p.tif", classes)
    meta = metadata(3, [{"id": 0, "name": "background", "color": "#000000", "values": ["0"]},
                        {"id": 1, "name": "water", "color": "#0000ff", "values": ["SØ", "lake"]},
                        {"id": 2, "name": "forest", "color": "#00a000", "values": ["skov"]}])
    meta["provenance"]["label_field"] = "code"
    model = conv_model(tmp_path / "m.onnx", meta=meta)
    old_map = tmp_path / "old.gpkg"
    pyogrio.raw.write(str(old_map), np.array(shapely.to_wkb([pixel_box(0, 64, 0, 32), pixel_box(0, 64, 32, 64)]),
                                             dtype=object),
                      [np.array(["skov", "lake"], dtype=object)], ["code"], layer="old", driver="GPKG", crs=CRS,
                      geometry_type="Polygon")
    out = tmp_path / "changes.gpkg"
    assert run_cli("compare-map", "--prediction", prediction, "--labels", old_map, "--model", model, "--out", out).code == 0
    rows = {r["source_fid"]: r for r in features(out, "map_changes")}
    assert (rows[1]["old_class"], rows[1]["predicted_class"], rows[1]["changed"]) == ("forest", "background", 1)
    assert (rows[2]["old_class"], rows[2]["changed"]) == ("water", 0)
    assert np.isnan(rows[1]["confidence"])  # no confidence raster: NULL, not a made-up value
    assert_user_error(run_cli("compare-map", "--prediction", prediction, "--labels", old_map), "--field")


# -- predict --vectorize and --aoi ------------------------------------------------------------


@pytest.fixture
def model(tmp_path):
    return conv_model(tmp_path / "model.onnx", kernel=3)


def aoi_layer(path, polygon_in_image_crs, crs="EPSG:4326"):
    geometry = shapely.geometry.shape(transform_geom(CRS, crs, shapely.geometry.mapping(polygon_in_image_crs)))
    pyogrio.raw.write(str(path), np.array([shapely.to_wkb(geometry)], dtype=object), [], [], layer="aoi",
                      driver="GPKG", crs=crs, geometry_type="Polygon")
    return path


def test_predict_with_an_aoi_in_another_crs(tmp_path, run_cli, model):
    image = write_image(tmp_path / "image.tif", smooth_image(3, 256, 320))
    full = tmp_path / "full.tif"
    assert run_cli("predict", "--model", model, "--image", image, "--out", full, "--tile", "64", "--overlap", "16").code == 0
    x0, y0 = TRANSFORM.c, TRANSFORM.f
    triangle = shapely.Polygon([(x0 + 400, y0 - 300), (x0 + 1500, y0 - 300), (x0 + 400, y0 - 1800)])
    aoi = aoi_layer(tmp_path / "aoi.gpkg", triangle)  # geographic: reprojected onto the image's grid
    out = tmp_path / "aoi.tif"
    result = run_cli("predict", "--model", model, "--image", image, "--out", out, "--tile", "64", "--overlap", "16",
                     "--aoi", aoi, "--vectorize", tmp_path / "aoi.gpkg.out.gpkg", "--json")
    assert result.code == 0, result.err
    progress = [e for e in result.events() if e["event"] == "progress" and e.get("stage", e.get("task")) == "predict"]
    with rasterio.open(full) as src:
        whole = src.read(1)
    with rasterio.open(out) as dst:
        part = dst.read(1)
        offset = (round((dst.transform.f - TRANSFORM.f) / TRANSFORM.e), round((dst.transform.c - TRANSFORM.c) / TRANSFORM.a))
        inside = rasterio.features.geometry_mask([triangle], part.shape, dst.transform, invert=True)
    assert part.shape[0] < whole.shape[0] and part.shape[1] < whole.shape[1]  # the AOI's bounds only
    rows, cols = np.mgrid[0:part.shape[0], 0:part.shape[1]]
    xs, ys = rasterio.transform.xy(dst.transform, rows.ravel(), cols.ravel())
    clear = (shapely.distance(shapely.points(xs, ys), triangle.boundary) > 1.0).reshape(part.shape)
    assert (part[~inside & clear] == 255).all() and (part[inside & clear] != 255).all()  # centres on the edge: either
    same = whole[offset[0]:offset[0] + part.shape[0], offset[1]:offset[1] + part.shape[1]]
    # inside, far enough from the AOI's box for the blending to be the same tiles: the same classes
    assert (part[inside] == same[inside]).mean() > 0.97
    totals = {e["total"] for e in progress}
    assert totals and max(totals) < 5 * 6  # fewer tiles than the whole image's 5 x 6
    polygons = features(tmp_path / "aoi.gpkg.out.gpkg")
    assert polygons and all(triangle.buffer(PIXEL).contains(f["geometry"]) for f in polygons)
    assert all(0 < f["confidence"] <= 1 for f in polygons)  # from a confidence raster written for it, then removed
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tif") == ["aoi.tif", "full.tif", "image.tif"]


def test_aoi_that_misses_the_image(tmp_path, run_cli, model):
    image = write_image(tmp_path / "image.tif", smooth_image(3, 64, 64))
    far = aoi_layer(tmp_path / "far.gpkg", shapely.box(0, 0, 1000, 1000))
    assert_user_error(run_cli("predict", "--model", model, "--image", image, "--out", tmp_path / "o.tif", "--aoi", far),
                      "--aoi", "does not meet the image")
    lines = aoi_layer(tmp_path / "points.gpkg", shapely.box(0, 0, 1, 1))
    with sqlite3.connect(lines) as db:  # no polygon left
        db.execute("DELETE FROM aoi")
    assert_user_error(run_cli("predict", "--model", model, "--image", image, "--out", tmp_path / "o.tif",
                              "--aoi", lines), "--aoi", "no polygon")
    assert not (tmp_path / "o.tif").exists()


def test_vectorize_with_an_aoi(tmp_path, run_cli):
    classes = blobs(200, 200)
    prediction = write_prediction(tmp_path / "p.tif", classes)
    half = pixel_box(0, 200, 0, 100)
    aoi = aoi_layer(tmp_path / "aoi.gpkg", half, crs="EPSG:3857")
    out = tmp_path / "v.gpkg"
    assert run_cli("vectorize", "--prediction", prediction, "--out", out, "--aoi", aoi, "--simplify", "0").code == 0
    polygons = features(out)
    assert all(half.buffer(1).contains(f["geometry"]) for f in polygons)
    left = classes[:, :100]
    assert sum(f["pixels"] for f in polygons) >= (left != 255).sum() * 0.99


def test_suggest_with_an_aoi(tmp_path, run_cli, denmark_old_map):
    from tests.inference.test_suggest import model_for

    manifest = json.loads((denmark_old_map / "manifest.json").read_text(encoding="utf-8"))
    suggest_model = model_for(tmp_path / "m.onnx", denmark_old_map)
    first = manifest["tiles"][0]
    t = first["transform"]
    size = first["window"]["width"]
    box = shapely.box(t[2] + 0.25 * size * t[0], t[5] + 0.75 * size * t[4], t[2] + 0.75 * size * t[0],
                      t[5] + 0.25 * size * t[4])
    from rasterio.crs import CRS as RioCRS

    crs = RioCRS.from_wkt(manifest["crs_wkt"])
    geometry = shapely.geometry.shape(transform_geom(crs, "EPSG:4326", shapely.geometry.mapping(box)))
    aoi = tmp_path / "aoi.geojson"
    pyogrio.raw.write(str(aoi), np.array([shapely.to_wkb(geometry)], dtype=object), [], [], driver="GeoJSON",
                      crs="EPSG:4326", geometry_type="Polygon")
    result = run_cli("suggest", "--model", suggest_model, "--data", denmark_old_map, "--aoi", aoi, "--top", "50", "--json")
    assert result.code == 0, result.err
    outputs = [e for e in result.events() if e["event"] == "done"][0]["outputs"]
    whole = box.area
    met = [tile for tile in manifest["tiles"]
           if shapely.box(*rasterio.transform.array_bounds(size, size, rasterio.Affine(*tile["transform"]))).intersects(box)]
    assert outputs["tiles_scored"] == len(met) and 1 <= len(met) < len(manifest["tiles"]) and whole > 0
    assert {s["tile_id"] for s in outputs["suggestions"]} <= {tile["id"] for tile in met}


def test_the_block_cache_holds_the_block_rows_of_one_strip(tmp_path):
    """Strips are read once, so GDAL's cache holds only the block rows a strip spans, of both rasters
    (a fixed 64 MB cache filled up with blocks already read: +64 MB of peak RSS at 8000 x 16000 px)."""
    from qgis_noisyseg.inference.vectorize import MIN_CACHE_MB, strip_cache_bytes

    profile = dict(driver="GTiff", width=20000, height=300, count=1, dtype="uint8", tiled=True, blockxsize=256,
                   blockysize=256, compress="deflate", crs=CRS, transform=from_origin(*ORIGIN, PIXEL, PIXEL))
    with rasterio.open(tmp_path / "c.tif", "w", **profile) as classes, \
            rasterio.open(tmp_path / "f.tif", "w", **{**profile, "dtype": "float32"}) as confidence:
        # 104 rows span at most 2 block rows of 256: 2 x 256 x 20000 px x (1 + 4) bytes, and a quarter more
        assert strip_cache_bytes(104, classes, confidence) == int(2 * 256 * 20000 * 5 * 1.25)
        assert strip_cache_bytes(600, classes, None) == int(4 * 256 * 20000 * 1.25)
        assert strip_cache_bytes(16, None) == MIN_CACHE_MB * 2 ** 20
