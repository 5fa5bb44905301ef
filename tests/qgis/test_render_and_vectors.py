"""Any raster layer as imagery, and vector results, in real QGIS: a local XYZ source made from
the Denmark tiles (file://, no network) is rendered into a GeoTIFF in blocks with progress and
cancel, then exported and predicted through Processing with an area of interest in another CRS
and polygons; the polygon and map-change layers open with their stored styles."""

from __future__ import annotations

import json

import numpy as np
import processing
import pyogrio
import pytest
import rasterio
import shapely
from qgis.core import (QgsCategorizedSymbolRenderer, QgsCoordinateReferenceSystem, QgsFeature, QgsGeometry, QgsProject,
                       QgsRasterBlockFeedback, QgsRasterLayer, QgsRectangle, QgsVectorLayer)
from rasterio.warp import transform_geom

from qgis_noisyseg.bridge.render_layer import RenderError, is_file_layer, render_layer
from tests.conftest import DENMARK
from tests.inference.inference_helpers import conv_model, metadata
from tests.qgis.xyz_tiles import make_tiles, xyz_uri

UTM = "EPSG:32632"


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    return make_tiles(DENMARK / "RGB_small.tif", tmp_path_factory.mktemp("xyz"))


@pytest.fixture
def xyz(tiles):
    layer = QgsRasterLayer(xyz_uri(tiles["url"], tiles["zoom"]), "Denmark XYZ", "wms")
    assert layer.isValid()
    yield layer
    QgsProject.instance().removeAllMapLayers()


def denmark_extent() -> QgsRectangle:
    with rasterio.open(DENMARK / "RGB_small.tif") as src:
        b = src.bounds
    return QgsRectangle(b.left, b.bottom, b.right, b.top)


def test_an_xyz_layer_renders_into_a_geotiff_in_blocks(qgis_app, xyz, tmp_path):
    assert not is_file_layer(xyz)
    feedback = QgsRasterBlockFeedback()
    progress = []
    feedback.progressChanged.connect(progress.append)
    out = tmp_path / "rendered.tif"
    result = render_layer(xyz, out, denmark_extent(), QgsCoordinateReferenceSystem(UTM), 5.0, feedback)
    assert (result["width"], result["height"], result["kind"]) == (904, 826, "rgba8")
    # 2 x 2 blocks of 512 px, reported as they are written
    assert len(progress) >= 3 and progress == sorted(progress) and progress[-1] == pytest.approx(100.0)
    with rasterio.open(out) as src:
        assert src.crs.to_string() == UTM and src.res == (5.0, 5.0) and src.dtypes == ("uint8",) * 4
        assert src.colorinterp[3] == rasterio.enums.ColorInterp.alpha
        rgb = src.read([1, 2, 3]).astype(float)
    # the imagery arrived: the tiles' colours, compared with the scene stretched as the tiles were made
    with rasterio.open(DENMARK / "RGB_small.tif") as src:
        scene = src.read(1).astype(float)
    small = rgb[0, ::2, ::2][:scene.shape[0], :scene.shape[1]]
    assert np.corrcoef(small.ravel(), scene[:small.shape[0], :small.shape[1]].ravel())[0, 1] > 0.9
    assert [p.name for p in tmp_path.iterdir()] == ["rendered.tif"]


def test_a_cancelled_render_leaves_nothing(qgis_app, xyz, tmp_path):
    feedback = QgsRasterBlockFeedback()
    feedback.progressChanged.connect(lambda _: feedback.cancel())
    with pytest.raises(RenderError, match="cancelled"):
        render_layer(xyz, tmp_path / "r.tif", denmark_extent(), QgsCoordinateReferenceSystem(UTM), 2.5, feedback)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RenderError, match="resolution"):
        render_layer(xyz, tmp_path / "r.tif", denmark_extent(), QgsCoordinateReferenceSystem(UTM), 0)


def test_processing_exports_and_predicts_an_xyz_layer_with_aoi_and_polygons(provider, xyz, tmp_path):  # noqa: F811
    QgsProject.instance().addMapLayer(xyz)
    extent = denmark_extent()
    extent_text = f"{extent.xMinimum()},{extent.xMaximum()},{extent.yMinimum()},{extent.yMaximum()} [{UTM}]"
    dataset = processing.run("noisyseg:export", {
        "INPUT": xyz, "EXTENT": extent_text, "RENDER_RESOLUTION": 10.0,
        "LABELS": [str(DENMARK / "marker_small_c31bc47.shp")], "FIELD": "AfgKode",
        "CLASSES": str(DENMARK / "classes.json"), "TILE": 128, "OUTPUT": str(tmp_path / "dataset")})
    manifest = json.loads((tmp_path / "dataset" / "manifest.json").read_text())
    assert dataset["TILES"] == len(manifest["tiles"]) > 0 and manifest["image"]["count"] == 3  # RGB; alpha = mask

    classes = [{**c, "values": c.get("values", [])} for c in manifest["classes"]]
    model = conv_model(tmp_path / "model.onnx", kernel=3, num_classes=len(classes),
                       meta={**metadata(3, classes), "normalization": {"mean": [100.0] * 3, "std": [40.0] * 3}})
    # the AOI in geographic coordinates: the west half of the scene
    west = shapely.box(extent.xMinimum(), extent.yMinimum(), extent.center().x(), extent.yMaximum())
    aoi_path = tmp_path / "aoi.gpkg"
    geographic = shapely.geometry.shape(transform_geom(UTM, "EPSG:4326", shapely.geometry.mapping(west)))
    pyogrio.raw.write(str(aoi_path), np.array([shapely.to_wkb(geographic)], dtype=object), [], [], layer="aoi",
                      driver="GPKG", crs="EPSG:4326", geometry_type="Polygon")
    results = processing.run("noisyseg:predict", {
        "MODEL": str(model), "INPUT": xyz, "EXTENT": extent_text, "RENDER_RESOLUTION": 10.0,
        "AOI": str(aoi_path), "VECTOR": str(tmp_path / "polygons.gpkg"), "OUTPUT": str(tmp_path / "classes.tif"),
        "CONFIDENCE": str(tmp_path / "classes_confidence.tif")})
    with rasterio.open(results["OUTPUT"]) as src:
        predicted = src.read(1)
        assert src.crs.to_string() == UTM and src.res == (10.0, 10.0)
        assert src.bounds.right <= west.bounds[2] + 10  # the AOI's bounds only
    assert (predicted != 255).mean() > 0.9
    polygons = QgsVectorLayer(f"{results['VECTOR']}|layername=classes", "polygons", "ogr")
    assert polygons.isValid() and polygons.featureCount() > 0
    assert isinstance(polygons.renderer(), QgsCategorizedSymbolRenderer)  # the stored default style
    assert polygons.renderer().classAttribute() == "class_id"
    names = {c.label() for c in polygons.renderer().categories()}
    assert names == {c["name"] for c in classes}

    changes = processing.run("noisyseg:compare-map", {
        "INPUT": results["OUTPUT"], "LABELS": str(DENMARK / "marker_small_c31bc47.shp"), "FIELD": "AfgKode",
        "MODEL": str(model), "OUTPUT": str(tmp_path / "changes.gpkg")})
    layer = QgsVectorLayer(f"{changes['OUTPUT']}|layername=map_changes", "changes", "ogr")
    assert layer.isValid() and layer.renderer().classAttribute() == "changed"
    scores = [f["change_score"] for f in layer.getFeatures()]
    known = [s for s in scores if s is not None and s == s]
    assert known == sorted(known, reverse=True) and changes["CHANGED"] == sum(1 for s in known if s > 0)


def test_web_mercator_becomes_the_local_utm_zone(qgis_app):
    from qgis_noisyseg.bridge.render_layer import ground_crs

    extent = denmark_extent()
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    from qgis.core import QgsCoordinateTransform

    box = QgsCoordinateTransform(QgsCoordinateReferenceSystem(UTM), mercator, QgsProject.instance()).transformBoundingBox(extent)
    crs, local = ground_crs(mercator, box)
    assert crs.authid() == UTM  # Denmark's scene lies in zone 32 north
    assert abs(local.width() - extent.width()) / extent.width() < 0.02
    same, untouched = ground_crs(QgsCoordinateReferenceSystem(UTM), extent)
    assert same.authid() == UTM and untouched == extent


def test_a_memory_layer_is_an_aoi_in_another_crs(provider, tmp_path):  # noqa: F811
    """An area drawn in a scratch layer (not a file), in geographic coordinates, limits predict:
    the layer is written for the backend, pixels whose centre is outside it are nodata."""
    with rasterio.open(DENMARK / "RGB_small.tif") as src:
        bounds, crs, count = src.bounds, src.crs.to_string(), src.count
    classes = [{"id": 0, "name": "background", "color": "#808080", "values": []},
               {"id": 1, "name": "field", "color": "#00a000", "values": []}]
    model = conv_model(tmp_path / "model.onnx", kernel=3, num_classes=2,
                       meta={**metadata(count, classes), "normalization": {"mean": [100.0] * count,
                                                                           "std": [40.0] * count}})
    # a triangle over the east half, in geographic coordinates
    mid = (bounds.left + bounds.right) / 2
    east = shapely.Polygon([(mid, bounds.bottom), (bounds.right, bounds.bottom), (bounds.right, bounds.top)])
    geographic = shapely.geometry.shape(transform_geom(crs, "EPSG:4326", shapely.geometry.mapping(east)))
    aoi = QgsVectorLayer("Polygon?crs=EPSG:4326", "drawn area", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromWkt(geographic.wkt))
    assert aoi.dataProvider().addFeatures([feature])[0]
    assert not is_file_layer(aoi)
    results = processing.run("noisyseg:predict", {
        "MODEL": str(model), "INPUT": str(DENMARK / "RGB_small.tif"), "AOI": aoi,
        "OUTPUT": str(tmp_path / "classes.tif")})
    with rasterio.open(results["OUTPUT"]) as src:
        predicted, transform = src.read(1), src.transform
        assert src.bounds.left >= east.bounds[0] - src.res[0]  # the AOI's bounds only
    rows, cols = np.indices(predicted.shape)
    xs, ys = rasterio.transform.xy(transform, rows.ravel(), cols.ravel())
    xs, ys = np.asarray(xs), np.asarray(ys)
    pixel = abs(transform.a)
    # the geographic triangle's edges curve slightly in UTM: pixels over a pixel away from them are pinned
    inside = shapely.contains_xy(east.buffer(-pixel), xs, ys).reshape(predicted.shape)
    outside = ~shapely.contains_xy(east.buffer(pixel), xs, ys).reshape(predicted.shape)
    assert inside.sum() > 1000 and outside.sum() > 1000
    assert (predicted[outside] == 255).all() and (predicted[inside] != 255).all()
    assert (predicted != 255).sum() * pixel ** 2 == pytest.approx(east.area, rel=0.01)
