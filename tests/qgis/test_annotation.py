"""The clean-label GeoPackage in real QGIS: schema, styles, prefill from the noisy masks, and
that nothing the operator made is ever lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from osgeo import gdal, ogr
from qgis.core import (NULL, QgsCategorizedSymbolRenderer, QgsExpression, QgsExpressionContext, QgsFeature, QgsGeometry,
                       QgsProject, QgsRuleBasedRenderer,
                       QgsValueMapFieldFormatter, QgsVectorLayer, QgsVectorLayerUtils)

from qgis_noisyseg.gui import annotation
from qgis_noisyseg.gui.annotation import AnnotationError
from tests.conftest import OLD_MAP, export_denmark

PREFILLED = ["r000000_c000064", "r000064_c000064"]


@pytest.fixture(scope="module")
def dataset(denmark_old_map) -> Path:
    return denmark_old_map


@pytest.fixture(scope="module")
def manifest(dataset) -> dict:
    return json.loads((dataset / "manifest.json").read_text())


@pytest.fixture
def open_package(qgis_app):
    """create_annotation_package, with the layers handed to the project (which deletes them at the
    end: QGIS crashes at exit over layers that no project owns)."""
    project = QgsProject.instance()

    def open_(gpkg, dataset_dir):
        package = annotation.create_annotation_package(gpkg, dataset_dir)
        project.addMapLayers([package.labels, package.tiles])
        return package

    yield open_
    project.removeAllMapLayers()


def python(value):
    """None for QGIS's NULL (a QVariant in PyQGIS 3.22)."""
    return None if value == NULL else value


def ogr_rows(gpkg: Path, layer: str, *fields: str) -> list[tuple]:
    source = ogr.Open(str(gpkg))
    rows = sorted(tuple(feature.GetField(name) for name in fields) for feature in source.GetLayerByName(layer))
    source = None
    return rows


def class_areas(layer: QgsVectorLayer, tile_id: str) -> dict[int, float]:
    areas: dict[int, float] = {}
    for feature in layer.getFeatures(f"\"tile_id\" = '{tile_id}'"):
        areas[feature["class_id"]] = areas.get(feature["class_id"], 0.0) + feature.geometry().area()
    return areas


def test_a_new_package_has_one_polygon_per_tile_on_the_tile_window(open_package, dataset, manifest, tmp_path):
    package = open_package(tmp_path / "clean.gpkg", dataset)

    assert package.path == tmp_path / "clean.gpkg"
    assert package.labels.crs().authid() == package.tiles.crs().authid() == manifest["crs"]
    assert package.labels.featureCount() == 0
    tiles = {feature["tile_id"]: feature for feature in package.tiles.getFeatures()}
    assert sorted(tiles) == sorted(tile["id"] for tile in manifest["tiles"])
    assert annotation.tile_count(package) == len(manifest["tiles"])
    for tile in manifest["tiles"]:
        a, _, c, _, e, f = tile["transform"]
        width, height = tile["window"]["width"], tile["window"]["height"]
        extent = tiles[tile["id"]].geometry().boundingBox()
        assert (extent.xMinimum(), extent.yMaximum()) == (c, f)
        assert (extent.xMaximum(), extent.yMinimum()) == (c + a * width, f + e * height)
        assert tiles[tile["id"]].geometry().area() == pytest.approx(abs(a * e) * width * height)
        assert (tiles[tile["id"]]["split"], tiles[tile["id"]]["done"]) == ("", 0)  # the clean split: none yet
    assert annotation.clean_layer_uri(package) == f"{tmp_path / 'clean.gpkg'}:clean_labels"
    assert annotation.tiles_layer_uri(package) == f"{tmp_path / 'clean.gpkg'}:tiles"


def test_the_schema_is_what_noisyseg_clean_reads(open_package, dataset, manifest, tmp_path):
    open_package(tmp_path / "clean.gpkg", dataset)

    source = ogr.Open(str(tmp_path / "clean.gpkg"))
    schema = {}
    for name in ("clean_labels", "tiles"):
        layer = source.GetLayerByName(name)
        definition = layer.GetLayerDefn()
        fields = {definition.GetFieldDefn(i).GetName(): definition.GetFieldDefn(i).GetTypeName()
                  for i in range(definition.GetFieldCount())}
        schema[name] = (ogr.GeometryTypeToName(layer.GetGeomType()), fields,
                        layer.GetSpatialRef().GetAuthorityCode(None))
    source = None
    epsg = manifest["crs"].split(":")[1]
    assert schema == {"clean_labels": ("Multi Polygon", {"class_id": "Integer", "tile_id": "String"}, epsg),
                      "tiles": ("Polygon", {"tile_id": "String", "split": "String", "done": "Integer",
                                            "score": "Real"}, epsg)}


def test_prefill_turns_the_noisy_masks_into_class_polygons_inside_their_tiles(open_package, dataset, manifest,
                                                                              tmp_path):
    package = open_package(tmp_path / "clean.gpkg", dataset)

    added = annotation.prefill_tiles(package, dataset, PREFILLED)

    assert added == package.labels.featureCount() > 2
    tiles = {feature["tile_id"]: feature.geometry() for feature in package.tiles.getFeatures()}
    pixel_area = abs(manifest["resolution"][0] * manifest["resolution"][1])
    for tile_id in PREFILLED:
        footprint = tiles[tile_id]
        for feature in package.labels.getFeatures(f"\"tile_id\" = '{tile_id}'"):
            assert 0 <= feature["class_id"] < len(manifest["classes"])
            assert feature.geometry().isGeosValid()
            assert footprint.buffer(1e-6, 1).contains(feature.geometry())
        histogram = next(t["class_histogram"] for t in manifest["tiles"] if t["id"] == tile_id)
        expected = {int(class_id): pixels * pixel_area for class_id, pixels in histogram.items()}
        areas = class_areas(package.labels, tile_id)
        assert sorted(areas) == sorted(expected) and len(areas) > 2
        for class_id, area in areas.items():
            assert area == pytest.approx(expected[class_id], rel=1e-6)
    assert ogr_rows(package.path, "clean_labels", "tile_id") == sorted(
        (feature["tile_id"],) for feature in package.labels.getFeatures())  # written to the file


def test_prefill_leaves_tiles_with_clean_labels_alone_and_reopening_loses_nothing(open_package, dataset, tmp_path):
    gpkg = tmp_path / "clean.gpkg"
    package = open_package(gpkg, dataset)
    annotation.prefill_tiles(package, dataset, PREFILLED[:1])
    labels = package.labels
    edited = next(labels.getFeatures())
    corrected = edited.geometry().buffer(-2.0, 1)
    assert labels.startEditing()
    labels.changeAttributeValue(edited.id(), labels.fields().indexOf("class_id"), 6)
    labels.changeGeometry(edited.id(), corrected)
    assert labels.commitChanges()
    annotation.mark_done(package, PREFILLED[:1])
    before = ogr_rows(gpkg, "clean_labels", "class_id", "tile_id")

    assert annotation.prefill_tiles(package, dataset, PREFILLED[:1]) == 0
    reopened = open_package(gpkg, dataset)
    assert annotation.prefill_tiles(reopened, dataset, PREFILLED[:1]) == 0

    assert ogr_rows(gpkg, "clean_labels", "class_id", "tile_id") == before
    again = reopened.labels.getFeature(edited.id())
    assert again["class_id"] == 6 and again.geometry().isGeosEqual(corrected)
    assert annotation.done_count(reopened) == 1
    assert reopened.tiles.featureCount() == package.tiles.featureCount()


def test_overlapping_tiles_are_prefilled_without_overlapping_polygons(open_package, tmp_path):
    dataset = export_denmark(tmp_path / "dataset", OLD_MAP, stride=32)
    manifest = json.loads((dataset / "manifest.json").read_text())
    tiles = {(t["window"]["row_off"], t["window"]["col_off"]): t for t in manifest["tiles"]}
    left = next(t for (row, col), t in sorted(tiles.items()) if (row, col + 32) in tiles and t["class_histogram"])
    right = tiles[(left["window"]["row_off"], left["window"]["col_off"] + 32)]
    package = open_package(tmp_path / "clean.gpkg", dataset)

    annotation.prefill_tiles(package, dataset, [left["id"], right["id"]])

    left_footprint = annotation.tile_polygon(left)
    pixel_area = abs(manifest["resolution"][0] * manifest["resolution"][1])
    for feature in package.labels.getFeatures(f"\"tile_id\" = '{right['id']}'"):
        assert feature.geometry().intersection(left_footprint).area() < 1e-6 * pixel_area
    right_mask = gdal.Open(str(dataset / right["mask"])).ReadAsArray()[:, 32:]  # the part beside the left tile
    expected = {int(k): v for k, v in left["class_histogram"].items()}
    for class_id in range(len(manifest["classes"])):
        expected[class_id] = expected.get(class_id, 0) + int((right_mask == class_id).sum())
    areas = {**class_areas(package.labels, left["id"])}
    for class_id, area in class_areas(package.labels, right["id"]).items():
        areas[class_id] = areas.get(class_id, 0.0) + area
    assert areas == pytest.approx({k: v * pixel_area for k, v in expected.items() if v})


def test_a_tile_with_a_polygon_drawn_by_hand_is_not_prefilled(open_package, dataset, tmp_path):
    package = open_package(tmp_path / "clean.gpkg", dataset)
    footprint = next(package.tiles.getFeatures(f"\"tile_id\" = '{PREFILLED[0]}'")).geometry()
    drawn = QgsFeature(package.labels.fields())
    drawn.setGeometry(footprint.centroid().buffer(50, 4))
    drawn["class_id"] = 2  # no tile_id: the tiles layer was not in the project when it was drawn
    package.labels.dataProvider().addFeatures([drawn])

    assert annotation.prefill_tiles(package, dataset, PREFILLED) > 0

    assert {python(feature["tile_id"]) for feature in package.labels.getFeatures()} == {None, PREFILLED[1]}


def test_prefill_in_the_operators_edit_session_is_one_undo_step(open_package, dataset, tmp_path):
    package = open_package(tmp_path / "clean.gpkg", dataset)
    labels = package.labels
    assert labels.startEditing()
    own = QgsFeature(labels.fields())
    own.setGeometry(QgsGeometry.fromWkt("MultiPolygon(((512500 6247000, 512600 6247000, 512600 6247100, "
                                        "512500 6247000)))"))
    own["class_id"] = 1
    labels.addFeature(own)
    steps = labels.undoStack().count()

    added = annotation.prefill_tiles(package, dataset, PREFILLED)

    assert labels.isEditable() and labels.undoStack().count() == steps + 1
    assert labels.featureCount() == added + 1
    assert ogr_rows(package.path, "clean_labels", "class_id") == []  # nothing saved behind the operator's back
    labels.undoStack().undo()
    assert [feature["class_id"] for feature in labels.getFeatures()] == [1]
    labels.undoStack().redo()
    annotation.commit_edits(package)
    assert labels.isEditable() and not labels.isModified()
    assert len(ogr_rows(package.path, "clean_labels", "class_id")) == added + 1


def test_reopening_with_a_re_export_adds_its_new_tiles_and_keeps_the_rows(open_package, dataset, manifest, tmp_path):
    first_export = shutil.copytree(dataset, tmp_path / "first_export")
    (first_export / "manifest.json").write_text(json.dumps({**manifest, "tiles": manifest["tiles"][:10]}))
    gpkg = tmp_path / "clean.gpkg"
    package = open_package(gpkg, first_export)
    annotation.mark_done(package, [manifest["tiles"][3]["id"]])
    annotation.set_scores(package, {manifest["tiles"][4]["id"]: 0.75})

    reopened = open_package(gpkg, dataset)

    assert reopened.tiles.featureCount() == len(manifest["tiles"])
    rows = {tile_id: (done, score) for tile_id, done, score in ogr_rows(gpkg, "tiles", "tile_id", "done", "score")}
    assert rows[manifest["tiles"][3]["id"]] == (1, None)
    assert rows[manifest["tiles"][4]["id"]] == (0, 0.75)
    assert len(rows) == len(manifest["tiles"])


def test_the_clean_layer_shows_class_names_and_colours_and_keeps_them_in_the_geopackage(open_package, dataset,
                                                                                        manifest, tmp_path):
    package = open_package(tmp_path / "clean.gpkg", dataset)
    classes = manifest["classes"]

    plain = QgsVectorLayer(f"{tmp_path / 'clean.gpkg'}|layername=clean_labels", "elsewhere", "ogr")
    QgsProject.instance().addMapLayer(plain)  # another project opening the file: the saved default style
    for layer in (package.labels, plain):
        renderer = layer.renderer()
        assert isinstance(renderer, QgsCategorizedSymbolRenderer) and renderer.classAttribute() == "class_id"
        assert [(int(c.value()), c.label(), c.symbol().color().name()) for c in renderer.categories()] == [
            (c["id"], c["name"], c["color"]) for c in classes]
        assert all(0 < c.symbol().color().alpha() < 255 for c in renderer.categories())
        index = layer.fields().indexOf("class_id")
        setup = layer.editorWidgetSetup(index)
        assert setup.type() == "ValueMap"
        assert [name for entry in setup.config()["map"] for name in entry] == [c["name"] for c in classes]
        assert QgsValueMapFieldFormatter().representValue(layer, index, setup.config(), None, 3) == classes[3]["name"]
        assert layer.editFormConfig().reuseLastValue(index)
        assert layer.editFormConfig().readOnly(layer.fields().indexOf("tile_id"))
        assert layer.labelsEnabled()  # class names on the map
        label = QgsExpression(layer.labeling().settings().fieldName)
        assert not label.hasParserError(), label.parserErrorString()
        for cls in classes:
            feature = QgsFeature(layer.fields())
            feature["class_id"] = cls["id"]
            context = QgsExpressionContext()
            context.setFeature(feature)
            assert label.evaluate(context) == cls["name"]
    tiles_again = QgsVectorLayer(f"{tmp_path / 'clean.gpkg'}|layername=tiles", "tiles again", "ogr")
    QgsProject.instance().addMapLayer(tiles_again)
    assert isinstance(tiles_again.renderer(), QgsRuleBasedRenderer)
    rules = tiles_again.renderer().rootRule().children()
    assert [(rule.filterExpression(), rule.symbol().symbolLayerCount()) for rule in rules] == [
        ('"split" = \'check\' AND "done" = 1', 2), ('"split" = \'check\'', 1), ('"done" = 1', 2), ("ELSE", 1)]
    assert tiles_again.editorWidgetSetup(tiles_again.fields().indexOf("done")).type() == "CheckBox"


def test_a_new_polygon_gets_the_most_common_class_and_the_tile_under_it(open_package, dataset, manifest, tmp_path):
    package = open_package(tmp_path / "clean.gpkg", dataset)
    pixels: dict[int, int] = {}
    for tile in manifest["tiles"]:
        for class_id, count in tile["class_histogram"].items():
            pixels[int(class_id)] = pixels.get(int(class_id), 0) + count
    footprint = next(package.tiles.getFeatures(f"\"tile_id\" = '{PREFILLED[1]}'")).geometry()

    drawn = QgsVectorLayerUtils.createFeature(package.labels, footprint.centroid().buffer(30, 4), {},
                                              package.labels.createExpressionContext())

    assert drawn["class_id"] == max(pixels, key=pixels.get)
    assert drawn["tile_id"] == PREFILLED[1]


def test_done_scores_and_selection(open_package, dataset, manifest, tmp_path):
    package = open_package(tmp_path / "clean.gpkg", dataset)
    ids = [tile["id"] for tile in manifest["tiles"]]

    assert annotation.mark_done(package, ids[:3]) == 3
    assert annotation.mark_done(package, ids[:3]) == 0
    assert annotation.mark_done(package, ids[1:2], done=False) == 1
    assert annotation.done_count(package) == 2
    assert annotation.done_tile_ids(package) == sorted([ids[0], ids[2]])

    annotation.set_scores(package, {ids[5]: 0.9, ids[6]: 0.4})
    annotation.set_scores(package, {ids[6]: 0.5, ids[7]: 0.25})
    scores = {f["tile_id"]: f["score"] for f in package.tiles.getFeatures() if python(f["score"]) is not None}
    assert scores == {ids[6]: 0.5, ids[7]: 0.25}  # one ranking: the older score of ids[5] is gone

    assert package.tiles.startEditing()
    steps = package.tiles.undoStack().count()
    assert annotation.mark_done(package, ids[3:5]) == 2
    assert package.tiles.undoStack().count() == steps + 1 and annotation.done_count(package) == 4
    assert sum(done for (done,) in ogr_rows(package.path, "tiles", "done")) == 2  # still in the edit session
    annotation.commit_edits(package)
    assert sum(done for (done,) in ogr_rows(package.path, "tiles", "done")) == 4

    annotation.select_tiles(package, [ids[7], ids[6]])
    assert annotation.selected_tile_ids(package) == sorted([ids[6], ids[7]])
    with pytest.raises(AnnotationError, match="no_such_tile"):
        annotation.mark_done(package, ["no_such_tile"])
    assert annotation.done_count(package) == 4


def test_commit_edits_saves_every_layer_of_the_file_and_reports_failures(open_package, dataset, tmp_path):
    package = open_package(tmp_path / "clean.gpkg", dataset)
    tiles_in_project = QgsVectorLayer(f"{tmp_path / 'clean.gpkg'}|layername=tiles", "tiles", "ogr")
    QgsProject.instance().addMapLayer(tiles_in_project)
    tile = next(tiles_in_project.getFeatures())
    assert tiles_in_project.startEditing()
    tiles_in_project.changeAttributeValue(tile.id(), tiles_in_project.fields().indexOf("done"), 1)

    annotation.commit_edits(package)

    assert (tile["tile_id"], 1) in ogr_rows(package.path, "tiles", "tile_id", "done")
    assert tiles_in_project.isEditable() and not tiles_in_project.isModified()
    tiles_in_project.changeAttributeValue(tile.id(), tiles_in_project.fields().indexOf("done"), None)  # NOT NULL
    with pytest.raises(AnnotationError, match="tiles"):
        annotation.commit_edits(package)
    assert tiles_in_project.isModified()  # the edit stays in the buffer
    tiles_in_project.rollBack()


def test_a_package_of_another_dataset_or_file_is_refused(open_package, dataset, manifest, tmp_path):
    other = shutil.copytree(dataset, tmp_path / "other_dataset")
    utm33 = 'PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],' \
            'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],' \
            'PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],' \
            'UNIT["metre",1],AUTHORITY["EPSG","32633"]]'
    (other / "manifest.json").write_text(json.dumps({**manifest, "crs": "EPSG:32633", "crs_wkt": utm33}))
    open_package(tmp_path / "clean.gpkg", dataset)
    not_a_gpkg = tmp_path / "notes.gpkg"
    not_a_gpkg.write_text("not a GeoPackage")

    with pytest.raises(AnnotationError, match="another dataset"):
        annotation.create_annotation_package(tmp_path / "clean.gpkg", other)
    with pytest.raises(AnnotationError, match="not a GeoPackage"):
        annotation.create_annotation_package(not_a_gpkg, dataset)
    with pytest.raises(AnnotationError, match="not a noisyseg dataset"):
        annotation.create_annotation_package(tmp_path / "new.gpkg", tmp_path)
    assert not (tmp_path / "new.gpkg").exists()
    assert not_a_gpkg.read_text() == "not a GeoPackage"


def test_a_folder_that_is_no_dataset_is_one_line_naming_it(tmp_path):
    """The manifest is read by core/dataset.py; the annotation says what is wrong in its own words."""
    def message(folder) -> str:
        with pytest.raises(AnnotationError) as caught:
            annotation.create_annotation_package(tmp_path / "clean.gpkg", folder)
        return str(caught.value)

    assert message(tmp_path / "nowhere") == f"{tmp_path / 'nowhere'} is not a noisyseg dataset folder (manifest.json: " \
                                            "no such folder)"
    assert message(tmp_path) == f"{tmp_path} is not a noisyseg dataset folder (manifest.json: missing)"
    (tmp_path / "manifest.json").write_text("{not json")
    assert message(tmp_path).startswith(f"{tmp_path} is not a noisyseg dataset folder (manifest.json: not valid JSON (")
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    assert message(tmp_path) == f"{tmp_path} is not a noisyseg dataset folder"
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "noisyseg-dataset", "format_version": 1}))
    assert message(tmp_path) == f"dataset {tmp_path}: manifest.json has no 'classes' (a list of classes); re-export " \
                                "the dataset with `noisyseg export`"
    assert not (tmp_path / "clean.gpkg").exists()


def test_edits_are_saved_as_they_are_made_and_undo_takes_them_back(open_package, dataset, tmp_path):
    from qgis.PyQt.QtCore import QCoreApplication

    package = open_package(tmp_path / "clean.gpkg", dataset)
    annotation.prefill_tiles(package, dataset, PREFILLED)
    labels = package.labels
    saver = annotation.AutoSaver(labels)
    original = ogr_rows(package.path, "clean_labels", "class_id", "tile_id")
    first = next(labels.getFeatures())
    assert labels.startEditing()

    labels.beginEditCommand("class")
    labels.changeAttributeValue(first.id(), labels.fields().indexOf("class_id"), first["class_id"] % 6 + 1)
    labels.endEditCommand()
    QCoreApplication.processEvents()
    changed = ogr_rows(package.path, "clean_labels", "class_id", "tile_id")
    assert changed != original and len(changed) == len(original)  # on disk, without a save by the operator
    own = QgsFeature(labels.fields())
    own.setGeometry(QgsGeometry.fromWkt("MultiPolygon(((512500 6247000, 512600 6247000, 512600 6247100, "
                                        "512500 6247000)))"))
    own["class_id"] = 2
    labels.addFeature(own)
    QCoreApplication.processEvents()
    assert len(ogr_rows(package.path, "clean_labels", "class_id")) == len(original) + 1
    victim = next(f for f in labels.getFeatures() if f.id() != first.id() and f["class_id"] != 2)
    labels.deleteFeature(victim.id())
    QCoreApplication.processEvents()
    assert len(ogr_rows(package.path, "clean_labels", "class_id")) == len(original)
    assert labels.isEditable() and not labels.isModified() and len(saver.steps) == 3

    assert saver.undo() and len(ogr_rows(package.path, "clean_labels", "class_id")) == len(original) + 1
    assert saver.undo() and ogr_rows(package.path, "clean_labels", "class_id", "tile_id") == changed
    assert saver.undo() and ogr_rows(package.path, "clean_labels", "class_id", "tile_id") == original
    assert not saver.undo() and labels.isEditable()
    saver.disconnect()
    labels.rollBack()


KILLED_MID_EDIT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from qgis.core import QgsApplication
app = QgsApplication([], False)
app.initQgis()
from qgis.PyQt.QtCore import QCoreApplication
from qgis_noisyseg.gui import annotation
package = annotation.create_annotation_package({gpkg!r}, {dataset!r})
labels = package.labels
saver = annotation.AutoSaver(labels)
labels.startEditing()
feature = next(labels.getFeatures())
labels.changeAttributeValue(feature.id(), labels.fields().indexOf("class_id"), feature["class_id"] % 6 + 1)
QCoreApplication.processEvents()
print(feature.id(), feature["class_id"] % 6 + 1, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_an_edit_survives_killing_qgis_before_anything_is_saved(open_package, dataset, tmp_path):
    import os
    import subprocess
    import sys

    package = open_package(tmp_path / "clean.gpkg", dataset)
    annotation.prefill_tiles(package, dataset, PREFILLED)
    QgsProject.instance().removeAllMapLayers()  # the file is closed here; the child process edits it
    root = str(Path(__file__).resolve().parents[2])
    script = KILLED_MID_EDIT.format(root=root, gpkg=str(tmp_path / "clean.gpkg"), dataset=str(dataset))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert child.returncode == -9, child.stderr[-2000:]
    fid, new_class = (int(word) for word in child.stdout.split()[:2])
    source = ogr.Open(str(tmp_path / "clean.gpkg"))
    assert source.GetLayerByName("clean_labels").GetFeature(fid).GetField("class_id") == new_class
    source = None
