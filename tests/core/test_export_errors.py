"""Bad input: exit 2, one line that names the problem, no traceback, nothing written under --out."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from qgis_noisyseg.core.errors import Cancelled
from qgis_noisyseg.core.export import export_dataset
from qgis_noisyseg.core.progress import Reporter
from tests.conftest import ATLANTA, DENMARK, REPO, VEGAS, assert_user_error, sigterm_at_first_progress

IMAGE = DENMARK / "RGB_small.tif"
OLD_MAP = DENMARK / "marker_small_c31bc47.shp"


def write_vector(path, geoms, values=None, crs="EPSG:32632", layer=None):
    fields = ["crop"] if values is not None else []
    data = [np.asarray(values, dtype=object)] if values is not None else []
    pyogrio.raw.write(path, np.asarray(shapely.to_wkb(geoms), dtype=object), data, fields, crs=crs,
                      geometry_type="Polygon", layer=layer, driver="GPKG" if str(path).endswith(".gpkg") else None)


def assert_nothing_written(out):
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name]


def test_image_and_labels_do_not_overlap(tmp_path, run_cli):
    # Real data: the Vegas road centre lines lie some kilometres west of the Vegas image.
    out = tmp_path / "ds"
    result = run_cli("export", "--image", VEGAS / "road_mask_input.tif", "--labels", VEGAS / "sample_roads.geojson",
                     "--out", out)
    assert_user_error(result, "don't overlap", "EPSG:4326")
    assert_nothing_written(out)


def test_missing_field_lists_existing_fields(tmp_path, run_cli):
    out = tmp_path / "ds"
    result = run_cli("export", "--image", IMAGE, "--labels", OLD_MAP, "--field", "crop_type", "--out", out)
    assert_user_error(result, "'crop_type'", "AfgKode", "Afgroede")
    assert_nothing_written(out)


def test_unknown_geopackage_layer(tmp_path, run_cli):
    gpkg = tmp_path / "parcels.gpkg"
    write_vector(gpkg, [shapely.box(512500, 6244000, 513000, 6244500)], ["wheat"], layer="fields2016")
    result = run_cli("export", "--image", IMAGE, "--labels", f"{gpkg}:fields2020", "--field", "crop", "--out", tmp_path / "ds")
    assert_user_error(result, "'fields2020'", "fields2016")
    ok = run_cli("export", "--image", IMAGE, "--labels", f"{gpkg}:fields2016", "--field", "crop", "--tile", "128",
                 "--out", tmp_path / "ds2")
    assert ok.code == 0, ok.err


def test_raster_without_georeferencing(tmp_path, run_cli):
    no_geo = ATLANTA / "sample_fp_mask_from_geojson.tif"
    result = run_cli("export", "--image", no_geo, "--labels", ATLANTA / "geotiff_labels.geojson", "--out", tmp_path / "a")
    assert_user_error(result, "no georeferencing")
    result = run_cli("export", "--image", ATLANTA / "sample_geotiff.tif", "--labels", no_geo, "--out", tmp_path / "b")
    assert_user_error(result, "label raster", "no georeferencing")


def test_vector_without_crs(tmp_path, run_cli):
    for suffix in (".shp", ".shx", ".dbf"):
        shutil.copy(OLD_MAP.with_suffix(suffix), tmp_path / f"nocrs{suffix}")
    result = run_cli("export", "--image", IMAGE, "--labels", tmp_path / "nocrs.shp", "--field", "Afgroede",
                     "--out", tmp_path / "ds")
    assert_user_error(result, "has no CRS")


def test_invalid_geometries_are_repaired_and_reported(tmp_path, run_cli):
    bowtie = shapely.from_wkt("POLYGON ((512500 6245000, 513500 6246000, 513500 6245000, 512500 6246000, 512500 6245000))")
    square = shapely.box(514000, 6244000, 515000, 6245000)
    gpkg = tmp_path / "bad.gpkg"
    write_vector(gpkg, [bowtie, square], ["a", "b"])
    out = tmp_path / "ds"
    result = run_cli("export", "--image", IMAGE, "--labels", gpkg, "--field", "crop", "--tile", "64", "--json", "--out", out)
    assert result.code == 0, result.err
    warnings = [e["message"] for e in result.events() if e["event"] == "warning"]
    assert any("repaired 1 invalid geometries" in w for w in warnings)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["label_sources"][0]["repaired_geometries"] == 1
    assert sum(t["class_histogram"].get("1", 0) for t in manifest["tiles"]) > 0, "the repaired bowtie was burned"


def test_empty_label_layer(tmp_path, run_cli):
    gpkg = tmp_path / "empty.gpkg"
    subprocess.run(["ogr2ogr", "-q", "-where", "1=0", str(gpkg), str(OLD_MAP)], check=True)
    result = run_cli("export", "--image", IMAGE, "--labels", gpkg, "--field", "Afgroede", "--out", tmp_path / "ds")
    assert_user_error(result, "empty")


def test_unsupported_dtype(tmp_path, run_cli):
    image = tmp_path / "int32.tif"
    with rasterio.open(image, "w", driver="GTiff", width=128, height=128, count=1, dtype="int32", crs="EPSG:32632",
                       transform=from_origin(512410, 6247200, 10, 10)) as dst:
        dst.write(np.ones((1, 128, 128), dtype="int32"))
    result = run_cli("export", "--image", image, "--labels", OLD_MAP, "--field", "Afgroede", "--out", tmp_path / "ds")
    assert_user_error(result, "int32", "uint8, uint16")


def test_out_exists_without_overwrite(tmp_path, run_cli):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["export", "--image", IMAGE, "--labels", OLD_MAP, "--field", "Afgroede", "--tile", "128", "--out", out]
    assert_user_error(run_cli(*args), "already exists", "--overwrite")
    assert (out / "keep.txt").read_text() == "mine"
    assert_user_error(run_cli(*args, "--overwrite"), "noisyseg did not write")  # not ours: never replaced
    assert (out / "keep.txt").read_text() == "mine" and not (out / "manifest.json").exists()
    (out / "keep.txt").unlink()
    assert run_cli(*args).code == 0  # an empty folder holds nothing to lose
    assert run_cli(*args, "--overwrite").code == 0  # our own dataset is replaced
    assert (out / "manifest.json").exists()


def test_tile_larger_than_image(tmp_path, run_cli):
    result = run_cli("export", "--image", IMAGE, "--labels", OLD_MAP, "--field", "Afgroede", "--tile", "512",
                     "--out", tmp_path / "ds")
    assert_user_error(result, "larger than the image", "--tile")
    assert_nothing_written(tmp_path / "ds")


def test_argument_errors_are_one_line(run_cli):
    result = run_cli("export", "--image", IMAGE)
    assert_user_error(result, "required")


def test_cancelled_export_leaves_nothing(tmp_path):
    reporter = Reporter(quiet=True)
    calls = []

    def cancel_after_first_strip(stage, done, total, **extra):
        calls.append(done)
        reporter.cancel.cancel("test")
        Reporter.progress(reporter, stage, done, total, **extra)

    reporter.progress = cancel_after_first_strip
    out = tmp_path / "ds"
    with pytest.raises(Cancelled):
        export_dataset(IMAGE, [str(OLD_MAP)], out, field="Afgroede", tile=32, stride=16, reporter=reporter)
    assert calls == [calls[0]]
    assert_nothing_written(out)


def test_sigterm_mid_export_leaves_no_half_dataset(tmp_path):
    out = tmp_path / "ds"
    result = sigterm_at_first_progress("export", "--image", IMAGE, "--labels", OLD_MAP, "--field", "Afgroede",
                                       "--tile", "32", "--stride", "8", "--min-valid", "0", "--out", out, timeout=60)
    assert result.code == 130, result.err
    assert '"cancelled"' in result.out
    assert "Traceback" not in result.err
    assert_nothing_written(out)


def test_real_process_prints_exactly_one_line(tmp_path):
    """In-process tests capture Python warnings; a real process must also print one line only."""
    cmd = [sys.executable, "-m", "qgis_noisyseg", "export", "--image", str(ATLANTA / "sample_fp_mask_from_geojson.tif"),
           "--labels", str(ATLANTA / "geotiff_labels.geojson"), "--out", str(tmp_path / "ds")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no georeferencing" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_classes_without_field_for_vectors(tmp_path, run_cli):
    classes = tmp_path / "classes.json"
    classes.write_text('{"classes": [{"id": 1, "name": "field", "values": ["1"]}]}')
    result = run_cli("export", "--image", IMAGE, "--labels", OLD_MAP, "--classes", classes, "--out", tmp_path / "ds")
    assert_user_error(result, "needs --field")
    classes.write_text('{"classes": [{"id": 1, "name": "field", "values": ["*"]}]}')
    ok = run_cli("export", "--image", IMAGE, "--labels", OLD_MAP, "--classes", classes, "--tile", "128",
                 "--out", tmp_path / "ds")
    assert ok.code == 0, ok.err
