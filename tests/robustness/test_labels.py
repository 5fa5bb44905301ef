"""Label layers as users' files come (issue 16): attribute encodings and broken geometries.

- ``--encoding`` in any spelling Python knows ("latin-1", the usual one, is GDAL's ISO-8859-1);
  a wrong or unknown one is named in one line.
- Without it: UTF-8, then the file's code page (a shapefile's .cpg), then latin-1 with a warning.
- A geometry GEOS rejects (a ring that is not closed) is repaired or skipped, and counted, in
  export, in clean and in predict's disagreement layer.
"""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely

from tests.conftest import OLD_MAP
from tests.robustness.conftest import Refused, check_refused

NAMES = ("Græs", "Vårbyg")


def parcels(scene: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta, _, wkb, fields = pyogrio.raw.read(scene / OLD_MAP, columns=["AfgKode"])
    return meta, wkb, fields[0]


def latin_shapefile(scene: Path, cpg: str | None = "ISO-8859-1") -> Path:
    """The old parcel map with a text class field of Danish names, stored as latin-1 bytes;
    its .cpg says ``cpg`` (None: no .cpg, so only the bytes tell)."""
    meta, wkb, codes = parcels(scene)
    names = np.array([NAMES[int(code) % 2] for code in codes], dtype=object)
    path = scene / "latin.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.raw.write(path, wkb, [names], ["crop"], driver="ESRI Shapefile", crs=meta["crs"],
                          geometry_type="Polygon", encoding="ISO-8859-1")
    assert "Græs".encode("latin-1") in path.with_suffix(".dbf").read_bytes()
    if cpg is None:
        path.with_suffix(".cpg").unlink()
    else:
        path.with_suffix(".cpg").write_text(cpg)
    return path


def unclosed(wkb: bytes) -> bytes:
    """The polygon's exterior ring without its closing point (GEOS refuses to build it)."""
    polygon = shapely.from_wkb(wkb)
    if polygon.geom_type != "Polygon":
        return wkb
    points = list(polygon.exterior.coords)[:-1]
    return (struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(points))
            + b"".join(struct.pack("<dd", *p[:2]) for p in points))


def open_rings(scene: Path, every: int = 2, also_broken: int = 0) -> Path:
    """A GeoPackage of the old map where every ``every``-th ring is not closed, and the first
    ``also_broken`` features have only two points (no repair can make a polygon of them)."""
    meta, wkb, codes = parcels(scene)
    damaged = [unclosed(g) if i % every == 0 else g for i, g in enumerate(wkb)]
    for i in range(also_broken):
        x, y = shapely.from_wkb(wkb[i]).exterior.coords[0][:2]
        damaged[i] = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 2) + struct.pack("<dddd", x, y, x + 1, y + 1)
    path = scene / "open.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.raw.write(path, np.array(damaged, dtype=object), [codes], ["AfgKode"], driver="GPKG",
                          crs=meta["crs"], geometry_type="Polygon")
    with pytest.raises(shapely.errors.GEOSException):
        shapely.from_wkb(damaged[0])
    return path


def export(w: Path, labels: Path, field: str, *extra) -> list:
    return ["export", "--image", w / "scene" / "RGB_small.tif", "--labels", labels, "--field", field, "--tile", "64",
            "--out", w / "ds", *extra]


def class_names(dataset: Path) -> list[str]:
    return [c["name"] for c in json.loads((dataset / "classes.json").read_text())["classes"]]


@pytest.mark.parametrize("spelling", ["latin-1", "latin1", "ISO-8859-1", "iso8859_1", "L1", "cp1252"])
def test_a_latin_1_shapefile_with_the_usual_spellings(spelling: str, inputs: Path, run_cli):
    latin = latin_shapefile(inputs / "scene", cpg=None)
    result = run_cli(*export(inputs, latin, "crop", "--encoding", spelling))
    assert result.code == 0, result.err
    assert class_names(inputs / "ds") == ["background", *sorted(NAMES)]


REFUSED = [
    Refused("export-wrong-encoding-utf8", lambda w: export(w, w / "scene" / "latin.shp", "crop", "--encoding", "UTF-8"),
            "not UTF-8 text", lambda w: latin_shapefile(w / "scene", cpg=None)),
    Refused("export-wrong-encoding-utf16", lambda w: export(w, w / "scene" / "latin.shp", "crop", "--encoding",
                                                            "utf-16"), "not utf-16 text",
            lambda w: latin_shapefile(w / "scene", cpg=None)),
    Refused("export-unknown-encoding", lambda w: export(w, w / "scene" / "latin.shp", "crop", "--encoding", "klingon"),
            "'klingon' is not a known text encoding", lambda w: latin_shapefile(w / "scene")),
    Refused("export-encoding-with-a-typo", lambda w: export(w, w / "scene" / "latin.shp", "crop", "--encoding",
                                                            "latin-01"), "is not a known text encoding",
            lambda w: latin_shapefile(w / "scene")),
    Refused("predict-disagreement-wrong-encoding",
            lambda w: ["predict", "--model", w / "model.onnx", "--image", w / "scene" / "RGB_small.tif", "--out",
                       w / "p.tif", "--disagreement-with", w / "scene" / "latin.shp", "--disagreement-field", "crop",
                       "--disagreement-encoding", "UTF-8"],
            "not UTF-8 text", lambda w: latin_shapefile(w / "scene", cpg=None)),
    Refused("predict-disagreement-unknown-encoding",
            lambda w: ["predict", "--model", w / "model.onnx", "--image", w / "scene" / "RGB_small.tif", "--out",
                       w / "p.tif", "--disagreement-with", w / "scene" / "latin.shp", "--disagreement-field", "crop",
                       "--disagreement-encoding", "klingon"],
            "'klingon' is not a known text encoding", lambda w: latin_shapefile(w / "scene")),
    Refused("export-split-nan", lambda w: export(w, w / "scene" / OLD_MAP, "AfgKode", "--split", "0.8,nan,0.1"),
            "--split", lambda w: None),
    Refused("export-split-inf", lambda w: export(w, w / "scene" / OLD_MAP, "AfgKode", "--split", "inf,0.1,0.1"),
            "--split", lambda w: None),
    Refused("export-split-negative", lambda w: export(w, w / "scene" / OLD_MAP, "AfgKode", "--split", "0.8,-0.1,0.3"),
            "--split", lambda w: None),
    Refused("export-split-two-parts", lambda w: export(w, w / "scene" / OLD_MAP, "AfgKode", "--split", "0.8,0.2"),
            "--split", lambda w: None),
    Refused("export-split-all-zero", lambda w: export(w, w / "scene" / OLD_MAP, "AfgKode", "--split", "0,0,0"),
            "--split", lambda w: None),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_refused_in_one_line(case: Refused, inputs: Path, run_cli):
    check_refused(case, inputs, run_cli)


@pytest.mark.parametrize("cpg,warned", [(None, False), ("ISO-8859-1", False), ("UTF-8", True), ("CP1252", False)])
def test_without_encoding_utf8_then_the_code_page_then_latin_1(cpg, warned, inputs: Path, run_cli):
    """Latin-1 bytes: with no .cpg GDAL's default (ISO-8859-1) reads them; a .cpg naming a
    single-byte code page reads them; a .cpg that wrongly says UTF-8 falls back to latin-1, warning."""
    latin = latin_shapefile(inputs / "scene", cpg=cpg)
    result = run_cli(*export(inputs, latin, "crop", "--json"))
    assert result.code == 0, result.err
    assert class_names(inputs / "ds") == ["background", *sorted(NAMES)]
    warnings_ = result.events()[-1]["outputs"]["warnings"]
    assert any("read them as latin-1" in w for w in warnings_) == warned, warnings_


def test_utf8_text_is_utf8(inputs: Path, run_cli):
    meta, wkb, codes = parcels(inputs / "scene")
    names = np.array([NAMES[int(code) % 2] for code in codes], dtype=object)
    path = inputs / "scene" / "utf8.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.raw.write(path, wkb, [names], ["crop"], driver="GPKG", crs=meta["crs"], geometry_type="Polygon")
    result = run_cli(*export(inputs, path, "crop", "--json"))
    assert result.code == 0, result.err
    assert class_names(inputs / "ds") == ["background", *sorted(NAMES)]
    assert not result.events()[-1]["outputs"]["warnings"]


def burned(dataset: Path) -> int:
    manifest = json.loads((dataset / "manifest.json").read_text())
    return sum(sum(t["class_histogram"].values()) for t in manifest["tiles"])


def test_unclosed_rings_are_repaired_in_export(inputs: Path, run_cli):
    """Every other ring not closed: all are repaired, counted, and burn as the closed map does."""
    reference = run_cli(*export(inputs, inputs / "scene" / OLD_MAP, "AfgKode", "--classes",
                                inputs / "scene" / "classes.json"))
    assert reference.code == 0, reference.err
    (inputs / "ds").rename(inputs / "reference")
    result = run_cli(*export(inputs, open_rings(inputs / "scene"), "AfgKode", "--classes",
                             inputs / "scene" / "classes.json", "--json"))
    assert result.code == 0, result.err
    source = json.loads((inputs / "ds" / "manifest.json").read_text())["label_sources"][0]
    _, wkb, _ = parcels(inputs / "scene")
    shapes = shapely.from_wkb(wkb)
    expected = sum(1 for i, g in enumerate(shapes) if (i % 2 == 0 and g.geom_type == "Polygon") or not g.is_valid)
    assert source["repaired_geometries"] == expected and source["skipped_geometries"] == 0
    assert any(f"repaired {expected} invalid geometries" in w for w in result.events()[-1]["outputs"]["warnings"])
    for tile in ("images", "masks"):
        names = sorted(p.name for p in (inputs / "reference" / tile).iterdir())
        assert names == sorted(p.name for p in (inputs / "ds" / tile).iterdir())
    for mask in sorted((inputs / "reference" / "masks").iterdir()):
        with rasterio.open(mask) as a, rasterio.open(inputs / "ds" / "masks" / mask.name) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))


def test_geometries_no_repair_can_save_are_skipped_and_counted(inputs: Path, run_cli):
    result = run_cli(*export(inputs, open_rings(inputs / "scene", every=3, also_broken=2), "AfgKode", "--classes",
                             inputs / "scene" / "classes.json", "--json"))
    assert result.code == 0, result.err
    source = json.loads((inputs / "ds" / "manifest.json").read_text())["label_sources"][0]
    assert source["skipped_geometries"] == 2
    assert any("skipped 2 that could not be repaired" in w for w in result.events()[-1]["outputs"]["warnings"])


def test_unclosed_rings_in_predicts_disagreement_layer(inputs: Path, run_cli):
    """The disagreement map of an old map with open rings equals that of the same map closed."""
    common = ["predict", "--model", inputs / "model.onnx", "--image", inputs / "scene" / "RGB_small.tif",
              "--disagreement-field", "AfgKode", "--json"]
    closed = run_cli(*common, "--out", inputs / "a.tif", "--disagreement-with", inputs / "scene" / OLD_MAP)
    assert closed.code == 0, closed.err
    opened = run_cli(*common, "--out", inputs / "b.tif", "--disagreement-with", open_rings(inputs / "scene"))
    assert opened.code == 0, opened.err
    outputs = opened.events()[-1]["outputs"]
    assert outputs["disagreement_geometries_repaired"] > 0 and outputs["disagreement_geometries_skipped"] == 0
    with rasterio.open(inputs / "a_disagreement.tif") as a, rasterio.open(inputs / "b_disagreement.tif") as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))


def test_predicts_disagreement_layer_decodes_with_the_given_encoding(inputs: Path, run_cli):
    """A latin-1 map with no .cpg: the same command is refused with --disagreement-encoding UTF-8
    and succeeds with latin-1, so the option is what decodes the map."""
    latin_shapefile(inputs / "scene", cpg=None)

    def predict(encoding: str, out: str):
        return run_cli("predict", "--model", inputs / "model.onnx", "--image", inputs / "scene" / "RGB_small.tif",
                       "--out", inputs / out, "--disagreement-with", inputs / "scene" / "latin.shp",
                       "--disagreement-field", "crop", "--disagreement-encoding", encoding)

    assert predict("UTF-8", "a.tif").code == 2 and not (inputs / "a.tif").exists()
    result = predict("latin-1", "b.tif")
    assert result.code == 0, result.err
    assert (inputs / "b_disagreement.tif").is_file()
