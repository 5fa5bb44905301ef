"""Processing's Suggest in real QGIS, on the Denmark export with a tiny ONNX model: the tiles it
suggests are those of `noisyseg suggest` run with the same arguments, without and with an area
of interest in another CRS (EPSG:4326, the dataset being in UTM); bad areas end with the CLI's
one-line message."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import processing
import pyogrio
import pytest
import shapely
from affine import Affine
from osgeo import ogr, osr
from qgis.core import (QgsFeature, QgsGeometry, QgsProcessingException, QgsProcessingFeedback, QgsProject,
                       QgsVectorLayer)
from rasterio.transform import array_bounds
from rasterio.warp import transform_geom

from qgis_noisyseg.gui.annotation.base import _python
from tests.conftest import REPO
from tests.inference.inference_helpers import conv_model, metadata

UTM = "EPSG:32632"
SUGGESTION_KEYS = ("tile_id", "split", "score", "confidence", "disagreement")


@pytest.fixture(scope="module")
def dataset(denmark_old_map):
    return denmark_old_map


def manifest_of(dataset) -> dict:
    return json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model(dataset, tmp_path_factory):
    """A 1x1 convolution with the dataset's classes and band statistics (as tests/inference/test_suggest.py)."""
    manifest = manifest_of(dataset)
    meta = {**metadata(3, manifest["classes"]),
            "normalization": {"mean": manifest["band_stats"]["mean"], "std": manifest["band_stats"]["std"]}}
    return conv_model(tmp_path_factory.mktemp("model") / "model.onnx", kernel=1, num_classes=len(manifest["classes"]),
                      meta=meta)


def footprint(tile: dict) -> shapely.Polygon:
    window = tile["window"]
    return shapely.box(*array_bounds(window["height"], window["width"], Affine(*tile["transform"])))


def cli_suggest(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qgis_noisyseg", "suggest", *map(str, args), "--json"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def cli_outputs(*args) -> dict:
    run = cli_suggest(*args)
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return next(e for e in events if e["event"] == "done")["outputs"]


def cli_error(*args) -> str:
    run = cli_suggest(*args)
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    return lines[0]


def suggested_tiles(path: str) -> list[dict]:
    """The features of the output layer, in the order written, as the CLI's suggestions plus rank and geometry."""
    layer = QgsVectorLayer(path, "suggested", "ogr")
    assert layer.isValid()
    assert layer.crs().authid() == UTM
    rows = []
    for feature in layer.getFeatures():
        row = {key: _python(feature[key]) for key in ("rank", *SUGGESTION_KEYS)}
        row["geometry"] = shapely.from_wkt(feature.geometry().asWkt())
        rows.append(row)
    return rows


def geographic_aoi(dataset, path, part: str = "east") -> shapely.Polygon:
    """A triangle over part of the dataset's extent, written in EPSG:4326; returns it in UTM."""
    tiles = manifest_of(dataset)["tiles"]
    left, bottom, right, top = shapely.union_all([footprint(t) for t in tiles]).bounds
    mid = (left + right) / 2
    if part == "east":
        area = shapely.Polygon([(mid, bottom), (right, bottom), (right, top)])
    else:  # far north of the scene: meets no tile
        area = shapely.box(left, top + 20_000, right, top + 30_000)
    geographic = shapely.geometry.shape(transform_geom(UTM, "EPSG:4326", shapely.geometry.mapping(area)))
    pyogrio.raw.write(str(path), np.array([shapely.to_wkb(geographic)], dtype=object), [], [], layer="aoi",
                      driver="GPKG", crs="EPSG:4326", geometry_type="Polygon")
    return area


def same_suggestions(rows: list[dict], cli: list[dict]) -> None:
    assert [row["rank"] for row in rows] == list(range(1, len(cli) + 1))  # written in rank order
    assert [{key: row[key] for key in SUGGESTION_KEYS} for row in rows] == \
        [{key: s[key] for key in SUGGESTION_KEYS} for s in cli]


def test_suggest_gives_the_cli_s_tiles_as_polygons(provider, dataset, model, tmp_path):
    results = processing.run("noisyseg:suggest", {"MODEL": str(model), "DATA": str(dataset), "TOP": 7,
                                                  "SCORES": str(tmp_path / "scores.json"),
                                                  "OUTPUT": str(tmp_path / "suggested.gpkg")})
    cli = cli_outputs("--model", model, "--data", dataset, "--top", 7, "--out", tmp_path / "cli_scores.json")

    manifest = manifest_of(dataset)
    assert results["TILES_SCORED"] == cli["tiles_scored"] == len(manifest["tiles"])
    rows = suggested_tiles(results["OUTPUT"])
    assert len(rows) == 7
    same_suggestions(rows, cli["suggestions"])
    tiles = {tile["id"]: tile for tile in manifest["tiles"]}
    for row in rows:  # each feature is its tile's footprint in the dataset's CRS
        expected = footprint(tiles[row["tile_id"]])
        assert shapely.normalize(row["geometry"]).equals_exact(shapely.normalize(expected), 1e-6)
    assert results["SCORES"] == str(tmp_path / "scores.json")
    assert json.loads((tmp_path / "scores.json").read_text())["tiles"] == \
        json.loads((tmp_path / "cli_scores.json").read_text())["tiles"]


def test_suggest_within_an_aoi_in_another_crs(provider, dataset, model, tmp_path):
    aoi_path = tmp_path / "aoi.gpkg"
    east = geographic_aoi(dataset, aoi_path)
    tiles = manifest_of(dataset)["tiles"]
    meeting = [t["id"] for t in tiles if footprint(t).intersects(east)]
    assert 0 < len(meeting) < len(tiles)
    top = len(tiles)  # every tile that is ranked is suggested

    results = processing.run("noisyseg:suggest", {"MODEL": str(model), "DATA": str(dataset), "TOP": top,
                                                  "AOI": str(aoi_path), "OUTPUT": str(tmp_path / "suggested.gpkg")})
    cli = cli_outputs("--model", model, "--data", dataset, "--top", top, "--aoi", aoi_path)

    rows = suggested_tiles(results["OUTPUT"])
    same_suggestions(rows, cli["suggestions"])
    assert results["TILES_SCORED"] == cli["tiles_scored"] == len(meeting)
    assert sorted(row["tile_id"] for row in rows) == sorted(meeting)  # every tile meets it: all have a score
    assert all(row["geometry"].intersects(east) for row in rows)
    assert results["SCORES"] is None

    # the same area drawn in a scratch layer (not a file) in EPSG:4326
    drawn = QgsVectorLayer("Polygon?crs=EPSG:4326", "drawn area", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromWkt(
        shapely.geometry.shape(transform_geom(UTM, "EPSG:4326", shapely.geometry.mapping(east))).wkt))
    assert drawn.dataProvider().addFeatures([feature])[0]
    from_scratch = processing.run("noisyseg:suggest", {"MODEL": str(model), "DATA": str(dataset), "TOP": top,
                                                       "AOI": drawn, "OUTPUT": str(tmp_path / "drawn.gpkg")})
    same_suggestions(suggested_tiles(from_scratch["OUTPUT"]), cli["suggestions"])


def test_suggest_loads_the_tiles_as_an_outlined_layer(provider, dataset, model, tmp_path):
    try:
        results = processing.runAndLoadResults("noisyseg:suggest", {"MODEL": str(model), "DATA": str(dataset),
                                                                    "TOP": 3, "OUTPUT": str(tmp_path / "s.gpkg")})
        layers = [layer for layer in QgsProject.instance().mapLayers().values()
                  if layer.source().startswith(results["OUTPUT"])]
        assert len(layers) == 1 and layers[0].name() == "Suggested tiles" and layers[0].featureCount() == 3
        assert layers[0].renderer().symbol().symbolLayer(0).properties()["style"] == "no"
    finally:
        QgsProject.instance().removeAllMapLayers()


def test_an_aoi_with_no_polygon_ends_with_the_cli_s_message(provider, dataset, model, tmp_path):
    empty = tmp_path / "empty.gpkg"
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(empty))  # QGIS's own GDAL, as the operator's file
    source.CreateLayer("aoi", osr.SpatialReference(osr.SRS_WKT_WGS84_LAT_LONG), ogr.wkbPolygon)
    source = None
    assert ogr.Open(str(empty)).GetLayerByName("aoi").GetFeatureCount() == 0
    message = cli_error("--model", model, "--data", dataset, "--aoi", f"{empty}:aoi")
    assert message.startswith("noisyseg suggest: error: --aoi ") and "has no polygon" in message
    with pytest.raises(QgsProcessingException) as error:
        processing.run("noisyseg:suggest", {"MODEL": str(model), "DATA": str(dataset), "AOI": f"{empty}|layername=aoi",
                                            "OUTPUT": str(tmp_path / "suggested.gpkg")})
    assert str(error.value) == message
    assert not (tmp_path / "suggested.gpkg").exists()


def test_an_aoi_off_the_dataset_ends_with_the_cli_s_message(provider, dataset, model, tmp_path):
    far = tmp_path / "far.gpkg"
    geographic_aoi(dataset, far, part="north")
    message = cli_error("--model", model, "--data", dataset, "--aoi", far)
    assert message.startswith("noisyseg suggest: error: --aoi ") and "meets none of the dataset's" in message
    with pytest.raises(QgsProcessingException) as error:
        processing.run("noisyseg:suggest", {"MODEL": str(model), "DATA": str(dataset), "AOI": str(far),
                                            "OUTPUT": str(tmp_path / "suggested.gpkg")})
    assert str(error.value) == message
    assert not (tmp_path / "suggested.gpkg").exists()


def test_suggest_reports_progress_and_cancel_stops_it(provider, dataset, model, tmp_path):
    tiles = len(manifest_of(dataset)["tiles"])
    feedback = QgsProcessingFeedback()
    progress = []
    feedback.progressChanged.connect(progress.append)
    processing.run("noisyseg:suggest", {"MODEL": str(model), "DATA": str(dataset), "BATCH_SIZE": 8,
                                        "OUTPUT": str(tmp_path / "suggested.gpkg")}, feedback=feedback)
    batches = [100.0 * min(done, tiles) / tiles for done in range(8, tiles + 8, 8)]  # one per batch of 8 tiles
    assert len(batches) > 1 and sorted(set(progress)) == pytest.approx(batches)

    cancelling = QgsProcessingFeedback()
    cancelling.progressChanged.connect(lambda _progress: cancelling.cancel())
    with pytest.raises(QgsProcessingException, match="cancelled"):
        processing.run("noisyseg:suggest", {"MODEL": str(model), "DATA": str(dataset), "BATCH_SIZE": 1,
                                            "SCORES": str(tmp_path / "cancelled.json"),
                                            "OUTPUT": str(tmp_path / "cancelled.gpkg")}, feedback=cancelling)
    assert not (tmp_path / "cancelled.gpkg").exists() and not (tmp_path / "cancelled.json").exists()
