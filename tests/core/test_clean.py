"""`noisyseg clean` on a real Denmark export: clean masks burned from a GeoPackage, splits, errors,
and fine-tuning on the result."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.warp import transform as transform_coords

from qgis_noisyseg.core.clean import assign_clean_splits, build_clean_dataset
from qgis_noisyseg.core.errors import Cancelled
from qgis_noisyseg.core.export import export_dataset
from qgis_noisyseg.core.progress import Reporter
from tests.conftest import DENMARK, assert_user_error

CRS = "EPSG:32632"
MAIN, EAST, CORNER = "r000064_c000064", "r000064_c000128", "r000000_c000000"
INVALID_COLUMNS = 20  # the corner tile's left columns are nodata in the image


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """The Denmark scene with a nodata strip in its top-left tile, exported as 64 px tiles."""
    root = tmp_path_factory.mktemp("noisy")
    image = root / "RGB_nodata.tif"
    with rasterio.open(DENMARK / "RGB_small.tif") as src:
        pixels, profile = src.read(), src.profile
    pixels[:, :64, :INVALID_COLUMNS] = 0
    with rasterio.open(image, "w", **{**profile, "nodata": 0}) as dst:
        dst.write(pixels)
    export_dataset(image, [str(DENMARK / "marker2016_small.shp")], root / "ds", field="AfgKode",
                   classes=DENMARK / "classes.json", tile=64, reporter=Reporter(quiet=True))
    return root / "ds"


def manifest_of(dataset) -> dict:
    return json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))


def tile_box(dataset, tile_id, rows, cols) -> shapely.Polygon:
    """The polygon whose pixel centres are rows[0]..rows[1]-1, cols[0]..cols[1]-1 of a tile."""
    tile = next(t for t in manifest_of(dataset)["tiles"] if t["id"] == tile_id)
    transform = Affine(*tile["transform"])
    left, top = transform * (cols[0], rows[0])
    right, bottom = transform * (cols[1], rows[1])
    return shapely.box(left, bottom, right, top)


def write_annotations(path, dataset, done, polygons, *, crs=CRS, geometry_type="MultiPolygon",
                      tile_fields=("tile_id", "split", "done", "score"), label_field="class_id", check=frozenset()):
    """A GeoPackage as the plugin writes it: ``tiles`` (one polygon per tile of the dataset, and
    per id of ``done`` not in it, ``done`` = 1 for the ids in ``done``) and ``clean_labels``
    ((geometry, class id) pairs)."""
    tiles = manifest_of(dataset)["tiles"]
    known = {t["id"] for t in tiles}
    tiles += [{**tiles[0], "id": tile_id} for tile_id in sorted(done - known)]  # tiles of some other dataset
    footprints = [shapely.box(*rasterio.transform.array_bounds(64, 64, Affine(*t["transform"]))) for t in tiles]
    columns = {"tile_id": np.array([t["id"] for t in tiles], dtype=object),
               "split": np.array(["check" if t["id"] in check else t["split"] for t in tiles], dtype=object),
               "done": np.array([int(t["id"] in done) for t in tiles]),
               "score": np.full(len(tiles), np.nan)}
    pyogrio.raw.write(path, np.asarray(shapely.to_wkb(footprints), dtype=object), [columns[f] for f in tile_fields],
                      list(tile_fields), layer="tiles", crs=CRS, geometry_type="Polygon")
    geoms = [g for g, _ in polygons]
    if crs != CRS:
        geoms = [shapely.transform(g, lambda xy: np.column_stack(transform_coords(CRS, crs, xy[:, 0], xy[:, 1])))
                 for g in geoms]
    if geometry_type == "MultiPolygon":
        geoms = [shapely.MultiPolygon([g]) for g in geoms]
    pyogrio.raw.write(path, np.asarray(shapely.to_wkb(geoms), dtype=object),
                      [np.array([c for _, c in polygons]), np.array(["", ] * len(polygons), dtype=object)],
                      [label_field, "tile_id"], layer="clean_labels", crs=crs, geometry_type=geometry_type, append=True)
    return path


def standard_polygons(noisy):
    """Class 2 over rows 5..29, cols 10..39 of MAIN; class 4 over rows 40..49 across the MAIN/EAST border."""
    return [(tile_box(noisy, MAIN, (5, 30), (10, 40)), 2),
            (tile_box(noisy, MAIN, (40, 50), (56, 72)), 4),
            (tile_box(noisy, CORNER, (0, 64), (0, 64)), 3)]


def clean(run_cli, noisy, gpkg, out, *extra):
    return run_cli("clean", "--data", noisy, "--labels", f"{gpkg}:clean_labels", "--tiles", f"{gpkg}:tiles",
                   "--out", out, *extra)


def read_mask(dataset, tile_id):
    with rasterio.open(dataset / "masks" / f"{tile_id}.tif") as src:
        return src.read(1), src.transform, src.colormap(1)


def test_masks_are_the_clean_polygons_burned_on_the_noisy_grid(noisy, tmp_path, run_cli):
    gpkg = write_annotations(tmp_path / "a.gpkg", noisy, {MAIN, EAST, CORNER}, standard_polygons(noisy))
    out = tmp_path / "clean"
    result = clean(run_cli, noisy, gpkg, out, "--json")
    assert result.code == 0, result.err
    outputs = [e for e in result.events() if e["event"] == "done"][0]["outputs"]
    assert outputs["tiles"] == 3 and outputs["splits"] == {"train": 2, "val": 1, "test": 0}

    main, transform, colours = read_mask(out, MAIN)
    expected = np.full((64, 64), 255, np.uint8)
    expected[5:30, 10:40] = 2
    expected[40:50, 56:64] = 4
    np.testing.assert_array_equal(main, expected)
    assert transform == Affine(*next(t for t in manifest_of(noisy)["tiles"] if t["id"] == MAIN)["transform"])
    assert colours[2][:3] == (0xa6, 0x56, 0x28)
    east = np.full((64, 64), 255, np.uint8)
    east[40:50, 0:8] = 4
    np.testing.assert_array_equal(read_mask(out, EAST)[0], east)
    corner = np.full((64, 64), 3, np.uint8)
    corner[:, :INVALID_COLUMNS] = 255  # outside the image's valid area
    np.testing.assert_array_equal(read_mask(out, CORNER)[0], corner)
    for tile_id in (MAIN, EAST, CORNER):
        assert (out / "images" / f"{tile_id}.tif").read_bytes() == (noisy / "images" / f"{tile_id}.tif").read_bytes()

    noisy_manifest, manifest = manifest_of(noisy), manifest_of(out)
    assert manifest["label_source"] == "clean" and manifest["classes"] == noisy_manifest["classes"]
    assert manifest["band_stats"] == noisy_manifest["band_stats"] and manifest["tile_size"] == 64
    assert manifest["source_dataset"]["path"] == str(noisy.resolve())
    source = manifest["label_sources"][0]
    assert (source["path"], source["layer"], source["field"]) == (str(gpkg.resolve()), "clean_labels", "class_id")
    assert source["sha256"] == hashlib.sha256(gpkg.read_bytes()).hexdigest()
    assert manifest["label_field"] == "AfgKode"  # the field the classes' values come from
    tiles = {t["id"]: t for t in manifest["tiles"]}
    assert set(tiles) == {MAIN, EAST, CORNER} and all(t["label_source"] == "clean" for t in tiles.values())
    assert tiles[MAIN]["class_histogram"] == {"2": 25 * 30, "4": 10 * 8}
    assert tiles[MAIN]["labeled_fraction"] == pytest.approx((25 * 30 + 80) / 64**2, abs=1e-6)
    assert json.loads((out / "classes.json").read_text())["classes"] == noisy_manifest["classes"]


def test_unlabeled_background_and_labels_in_another_crs(noisy, tmp_path, run_cli):
    polygons = standard_polygons(noisy)
    gpkg = write_annotations(tmp_path / "a.gpkg", noisy, {MAIN}, polygons, crs="EPSG:3044")
    out = tmp_path / "clean"
    assert clean(run_cli, noisy, gpkg, out, "--unlabeled", "background").code == 0
    expected = np.zeros((64, 64), np.uint8)
    expected[5:30, 10:40] = 2
    expected[40:50, 56:64] = 4
    np.testing.assert_array_equal(read_mask(out, MAIN)[0], expected)
    manifest = manifest_of(out)
    assert manifest["unlabeled"] == "background" and manifest["label_sources"][0]["crs"] == "EPSG:3044"
    assert manifest["splits"] == {"train": 1, "val": 0, "test": 0}


def test_splits_are_deterministic():
    ids = [f"r{r:06d}_c000000" for r in range(0, 512, 64)]
    assert assign_clean_splits(ids[:1], 0.25) == {ids[0]: "train"}
    assert sorted(assign_clean_splits(ids[:2], 0.25).values()) == ["train", "val"]
    eight = assign_clean_splits(ids, 0.25)
    assert sum(s == "val" for s in eight.values()) == 2
    assert assign_clean_splits(list(reversed(ids)), 0.25) == eight
    assert set(assign_clean_splits(ids, 0.0).values()) == {"train"}
    assert sum(s == "val" for s in assign_clean_splits(ids[:3], 0.9).values()) == 2  # never all of them


def expect_user_error(run_cli, noisy, tmp_path, gpkg, *fragments, extra=()):
    out = tmp_path / "clean"
    assert_user_error(clean(run_cli, noisy, gpkg, out, *extra), *fragments)
    assert not out.exists() and not list(tmp_path.glob("clean.tmp-*"))


def test_errors_are_one_line_and_write_nothing(noisy, tmp_path, run_cli):
    polygons = standard_polygons(noisy)
    cases = [
        (write_annotations(tmp_path / "none_done.gpkg", noisy, set(), polygons), ["marked done"], ()),
        (write_annotations(tmp_path / "unknown.gpkg", noisy, {MAIN, "r999999_c000000"}, polygons),
         ["'r999999_c000000'", "not in dataset"], ()),
        (write_annotations(tmp_path / "bad_class.gpkg", noisy, {MAIN}, [(polygons[0][0], 9)]),
         ["class_id values 9", "0..6"], ()),
        (write_annotations(tmp_path / "no_done.gpkg", noisy, {MAIN}, polygons, tile_fields=("tile_id", "split")),
         ["field 'done'"], ()),
        (write_annotations(tmp_path / "field.gpkg", noisy, {MAIN}, polygons, label_field="klass"),
         ["field 'class_id'", "klass"], ()),
        (write_annotations(tmp_path / "points.gpkg", noisy, {MAIN}, [(polygons[0][0].centroid, 2)], geometry_type="Point"),
         ["Point", "must be polygons"], ()),
        (write_annotations(tmp_path / "mixed.gpkg", noisy, {MAIN},
                           [(polygons[0][0], 2), (polygons[0][0].exterior, 2)], geometry_type="Unknown"),
         ["LineString", "must be polygons"], ()),
        (write_annotations(tmp_path / "fraction.gpkg", noisy, {MAIN}, polygons), ["--val-fraction"],
         ("--val-fraction", "1")),
    ]
    for gpkg, fragments, extra in cases:
        expect_user_error(run_cli, noisy, tmp_path, gpkg, *fragments, extra=extra)
    good = tmp_path / "fraction.gpkg"
    out = tmp_path / "clean"
    assert_user_error(run_cli("clean", "--data", noisy, "--labels", f"{good}:labels", "--tiles", f"{good}:tiles",
                              "--out", out), "layer 'labels'", "clean_labels")
    assert not out.exists()


def test_cancel_leaves_nothing(noisy, tmp_path):
    gpkg = write_annotations(tmp_path / "a.gpkg", noisy, {MAIN, EAST}, standard_polygons(noisy))
    reporter = Reporter(quiet=True)
    reporter.cancel.cancel("SIGTERM")
    with pytest.raises(Cancelled):
        build_clean_dataset(noisy, f"{gpkg}:clean_labels", f"{gpkg}:tiles", tmp_path / "clean", reporter=reporter)
    assert [p.name for p in tmp_path.iterdir()] == ["a.gpkg"]


@pytest.fixture
def one_torch_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_finetune_and_evaluate_on_the_clean_dataset(noisy, tmp_path, run_cli, one_torch_thread):
    done = {MAIN, EAST, CORNER, "r000128_c000128"}
    gpkg = write_annotations(tmp_path / "a.gpkg", noisy, done, standard_polygons(noisy))
    out = tmp_path / "clean"
    assert clean(run_cli, noisy, gpkg, out).code == 0
    tiny = ["--base-width", "8", "--batch-size", "4", "--device", "cpu", "--epochs", "1"]
    pretrain = run_cli("pretrain", "--data", noisy, "--out", tmp_path / "pre", *tiny)
    assert pretrain.code == 0, pretrain.err
    finetune = run_cli("finetune", "--data", out, "--init", tmp_path / "pre" / "model.pt", "--out", tmp_path / "ft",
                       *tiny, "--json")
    assert finetune.code == 0, finetune.err
    history = json.loads((tmp_path / "ft" / "history.json").read_text())
    assert len(history) == 1 and history[0]["epoch"] == 1
    config = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert config["label_field"] == "AfgKode", "the classes' values are the old map's, not class ids"
    evaluate = run_cli("evaluate", "--model", tmp_path / "ft" / "model.pt", "--data", out, "--split", "val",
                       "--device", "cpu", "--json")
    assert evaluate.code == 0, evaluate.err
    metrics = [e for e in evaluate.events() if e["event"] == "done"][0]["outputs"]
    assert metrics["tiles"] == 1 and metrics["pixels"] > 0


def test_check_tiles_are_the_test_split_and_never_trained_on(noisy, tmp_path, run_cli, one_torch_thread):
    """Tiles whose split is 'check' become the clean test split; with --val-fraction 0 every other
    done tile trains; evaluate on them gives a tile-bootstrap interval and each tile's matrix."""
    check = {EAST, "r000128_c000128"}
    gpkg = write_annotations(tmp_path / "a.gpkg", noisy, {MAIN, CORNER} | check, standard_polygons(noisy), check=check)
    out = tmp_path / "clean"
    result = clean(run_cli, noisy, gpkg, out, "--val-fraction", "0", "--json")
    assert result.code == 0, result.err
    outputs = [e for e in result.events() if e["event"] == "done"][0]["outputs"]
    assert outputs["splits"] == {"train": 2, "val": 0, "test": 2}
    assert outputs["tile_splits"] == {CORNER: "train", MAIN: "train", EAST: "test", "r000128_c000128": "test"}
    assert {t["id"]: t["split"] for t in manifest_of(out)["tiles"]} == outputs["tile_splits"]
    tiny = ["--base-width", "8", "--batch-size", "4", "--device", "cpu", "--epochs", "1"]
    finetune = run_cli("finetune", "--data", out, "--init", "none", "--out", tmp_path / "ft", *tiny)
    assert finetune.code == 0, finetune.err
    history = json.loads((tmp_path / "ft" / "history.json").read_text())
    assert "val_miou" not in history[0], "no validation tile: selection never looks at the check tiles"
    evaluate = run_cli("evaluate", "--model", tmp_path / "ft" / "model.pt", "--data", out, "--split", "test",
                       "--device", "cpu", "--json")
    assert evaluate.code == 0, evaluate.err
    metrics = [e for e in evaluate.events() if e["event"] == "done"][0]["outputs"]
    assert metrics["tiles"] == 2 and [t["id"] for t in metrics["per_tile"]] == sorted(check)
    summed = np.sum([t["confusion_matrix"] for t in metrics["per_tile"]], axis=0)
    assert summed.tolist() == metrics["confusion_matrix"]
    low, high = metrics["interval"]["miou"]
    assert low <= metrics["miou"] <= high and metrics["interval"]["level"] == 0.9
