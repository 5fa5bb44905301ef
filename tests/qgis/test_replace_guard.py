"""Processing's and the panel's "replace" options go through the backend's output guard (issue 11).

Ticking "Replace the dataset folder" or confirming the panel's "Replace the dataset?" must never
delete a folder that noisyseg did not make, nor one that holds the inputs: each refusal is one
message, and every file involved is byte-identical afterwards.
"""

from __future__ import annotations

import processing
import pytest
from qgis.core import QgsProcessingException, QgsRasterLayer, QgsVectorLayer

from qgis_noisyseg.gui.panel import NoisySegDock
from tests.conftest import OLD_MAP
from tests.qgis.panel_helpers import close_dock, tick_label_layer, wait_for_job
from tests.file_state import assert_unchanged, copy_scene, snapshot


def user_folder(root):
    """A folder of the operator's own work, which no noisyseg command made."""
    folder = root / "my-project"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "field-survey.txt").write_text("plot 12: barley, checked 2026-06-01\n")
    (folder / "parcels.qgz").write_bytes(b"PK\x03\x04 not really a project")
    return folder


def export_parameters(scene, out) -> dict:
    return {"INPUT": str(scene / "RGB_small.tif"), "LABELS": [str(scene / OLD_MAP)], "FIELD": "AfgKode",
            "CLASSES": str(scene / "classes.json"), "TILE": 64, "OUTPUT": str(out), "OVERWRITE": True}


def refused(algorithm: str, parameters: dict) -> str:
    with pytest.raises(QgsProcessingException) as error:
        processing.run(algorithm, parameters)
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_processing_replace_refuses_the_folder_that_holds_the_inputs(provider, tmp_path):
    scene = copy_scene(tmp_path / "scene")
    before = snapshot(tmp_path)
    message = refused("noisyseg:export", export_parameters(scene, scene))
    assert "contains the input --image" in message, message
    assert_unchanged(before, snapshot(tmp_path))


def test_processing_replace_refuses_a_folder_noisyseg_did_not_make(provider, tmp_path):
    scene = copy_scene(tmp_path / "scene")
    mine = user_folder(tmp_path)
    before = snapshot(tmp_path)
    message = refused("noisyseg:export", export_parameters(scene, mine))
    assert "noisyseg did not write" in message, message
    assert_unchanged(before, snapshot(tmp_path))


def test_processing_replace_of_a_run_folder_refuses_a_user_folder(provider, tmp_path):
    scene = copy_scene(tmp_path / "scene")
    dataset = processing.run("noisyseg:export", {**export_parameters(scene, tmp_path / "dataset"),
                                                 "OVERWRITE": False})["OUTPUT"]
    mine = user_folder(tmp_path)
    before = snapshot(tmp_path)
    message = refused("noisyseg:pretrain", {"DATA": dataset, "EPOCHS": 1, "BATCH_SIZE": 4, "DEVICE": "cpu",
                                            "BASE_WIDTH": 8, "OUTPUT": str(mine), "OVERWRITE": True})
    assert "noisyseg did not write" in message, message
    assert_unchanged(before, snapshot(tmp_path))


def test_processing_replace_does_replace_its_own_dataset(provider, tmp_path):
    scene = copy_scene(tmp_path / "scene")
    first = processing.run("noisyseg:export", export_parameters(scene, tmp_path / "dataset"))
    again = processing.run("noisyseg:export", {**export_parameters(scene, tmp_path / "dataset"), "TILE": 128})
    assert first["TILES"] > again["TILES"] > 0  # replaced by the 128 px export
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "scene"]  # nothing moved aside remains


@pytest.fixture
def dock(qgis_iface, project, tmp_path):
    dock = NoisySegDock(qgis_iface)
    dock.confirm = lambda _question: True  # the operator clicks "Yes, replace"
    qgis_iface.messageBar().clear_messages()
    yield dock
    close_dock(dock)


def test_the_panels_confirmed_replace_keeps_a_user_folder_named_dataset(dock, project, tmp_path):
    scene = copy_scene(tmp_path / "scene")
    image = QgsRasterLayer(str(scene / "RGB_small.tif"), "image")
    old_map = QgsVectorLayer(str(scene / OLD_MAP), "old map", "ogr")
    project.addMapLayers([image, old_map])
    work = tmp_path / "work"
    user_folder(work).rename(work / "dataset")  # the operator's own folder happens to be called "dataset"
    dock.data_step.work_folder.setFilePath(str(work))
    dock.data_step.image.setLayer(image)
    tick_label_layer(dock, old_map)
    dock.data_step.field.setField("AfgKode")
    dock.data_step.tile.setValue(64)
    before = snapshot(tmp_path)

    assert dock.data_step.export()
    status = wait_for_job(dock)

    assert "noisyseg did not write" in status and "\n" not in status, status
    assert dock.stage.text() == "Failed"
    after = snapshot(tmp_path)
    assert {p: d for p, d in after.items() if p.startswith("scene") or p.startswith("work/dataset")} == \
        {p: d for p, d in before.items() if p.startswith("scene") or p.startswith("work/dataset")}
    assert dock.state["dataset"] == ""  # the panel did not take the refused folder as its dataset
