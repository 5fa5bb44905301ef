"""The panel's vector results and non-file imagery in real QGIS: predict with an area of interest
in another CRS, polygons and the old map's changes added as layers, *Zoom to next change*; an
XYZ layer (file://, no network) rendered into the imagery. Screenshots of the new parts."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import shapely
from qgis.core import QgsCategorizedSymbolRenderer, QgsCoordinateReferenceSystem, QgsRasterLayer, QgsVectorLayer
from rasterio.warp import transform_geom

from tests.conftest import DENMARK
from tests.inference.inference_helpers import conv_model, metadata
from tests.qgis.panel_helpers import load_denmark, save_screenshot, wait_for_job, wait_until
from tests.qgis.test_panel import configure_data_step, dock  # noqa: F401  (a fixture)
from tests.qgis.xyz_tiles import make_tiles, xyz_uri

UTM = "EPSG:32632"


def denmark_model(folder):
    """A complete run folder holding a small model with the Denmark classes (no training here)."""
    classes = json.loads((DENMARK / "classes.json").read_text())["classes"]
    meta = metadata(3, classes)
    meta["normalization"] = {"mean": [1016.3, 923.9, 863.4], "std": [139.8, 179.5, 328.5]}
    meta["provenance"]["label_field"] = "AfgKode"
    folder.mkdir(parents=True)
    conv_model(folder / "model.onnx", kernel=3, num_classes=len(classes), meta=meta)
    return folder


def test_predict_with_aoi_polygons_and_map_changes(dock, project, qgis_iface, tmp_path):  # noqa: F811
    image, old_map = load_denmark(project)
    dock.data_step.image.setLayer(image)
    configure_data_step(dock, old_map)
    assert not dock.data_step.render_box.isVisible()  # a file: nothing to render
    run = denmark_model(tmp_path / "work" / "runs" / "pretrain-1")
    dock.data_step.store(dock.state)  # the work folder (export would store it)
    dock.state["pretrain_runs"] = [{"path": str(run), "complete": True, "method": "noisy"}]
    step = dock.predict_step
    step.refresh()
    assert step.model.currentData() == str(run / "model.onnx")
    extent = image.extent()
    west = shapely.box(extent.xMinimum(), extent.yMinimum(), extent.center().x(), extent.yMaximum())
    geographic = shapely.geometry.shape(transform_geom(UTM, "EPSG:4326", shapely.geometry.mapping(west)))
    pyogrio.raw.write(str(tmp_path / "aoi.gpkg"), np.array([shapely.to_wkb(geographic)], dtype=object), [], [],
                      layer="aoi", driver="GPKG", crs="EPSG:4326", geometry_type="Polygon",
                      dataset_options={"VERSION": "1.2"})
    aoi = QgsVectorLayer(f"{tmp_path / 'aoi.gpkg'}|layername=aoi", "area of interest", "ogr")
    project.addMapLayer(aoi)
    step.vectors.aoi.setLayer(aoi)
    step.vectors.polygons.setChecked(True)
    step.vectors.changes.setChecked(True)
    dock.toolbox.setCurrentIndex(4)
    assert step.start()
    assert wait_for_job(dock).startswith("Predicted prediction-1.tif: ")  # the one-line result, no error
    layers = {layer.name(): layer for layer in project.mapLayers().values()}
    polygons = layers["classes (polygons)"]
    assert isinstance(polygons.renderer(), QgsCategorizedSymbolRenderer) and polygons.featureCount() > 0
    classes = layers["classes"]
    assert classes.extent().xMaximum() <= extent.center().x() + 10  # the AOI's half only
    changes = layers["changes in the old map"]
    assert changes.featureCount() == old_map.featureCount()
    assert step.vectors.next_change.isEnabled()
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem(UTM))
    canvas.setExtent(extent)
    first_changed = next(f for f in changes.getFeatures() if f["changed"] == 1)  # the layer's order: most confident
    step.vectors.next_change.click()
    assert canvas.extent().contains(first_changed.geometry().boundingBox())
    assert changes.selectedFeatureIds() == [first_changed.id()]
    assert "1 of" in step.vectors.change_label.text()
    step.vectors.next_change.click()
    assert changes.selectedFeatureIds() != [first_changed.id()]
    save_screenshot(dock, "step5_predict_vectors", tmp_path)


def test_an_xyz_layer_is_rendered_into_the_imagery(dock, project, qgis_iface, tmp_path):  # noqa: F811
    tiles = make_tiles(DENMARK / "RGB_small.tif", tmp_path / "xyz")
    xyz = QgsRasterLayer(xyz_uri(tiles["url"], tiles["zoom"]), "orthophoto (XYZ)", "wms")
    assert xyz.isValid()
    reference = QgsRasterLayer(str(DENMARK / "RGB_small.tif"), "reference")
    project.addMapLayers([xyz])
    dock.show()
    dock.data_step.store(dock.state)
    dock.data_step.image.setLayer(xyz)
    box = dock.data_step.render_box
    assert box.isVisible()
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem(UTM))
    canvas.resize(452, 413)
    canvas.setExtent(reference.extent())
    box.resolution.setValue(10.0)
    save_screenshot(dock, "step1_render_layer", tmp_path)
    assert box.render()
    wait_until(lambda: box.task is None, 120)
    rendered = dock.data_step.image.currentLayer()
    assert rendered is not xyz and rendered.providerType() == "gdal"
    assert rendered.bandCount() == 4 and abs(rendered.rasterUnitsPerPixelX() - 10.0) < 1e-9
    assert not box.isVisible()
    assert (tmp_path / "work" / "rendered").is_dir()
