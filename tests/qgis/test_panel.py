"""The dock panel drives the operator's whole workflow in real QGIS, with the real backend."""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from qgis.core import Qgis, QgsPalettedRasterRenderer
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import QTableWidgetSelectionRange

from qgis_noisyseg.core.metrics import miou
from qgis_noisyseg.gui import annotation
from qgis_noisyseg.gui.panel import NoisySegDock
from qgis_noisyseg.gui.runner import Step
from qgis_noisyseg.inference import OnnxSegmenter
from tests.conftest import DENMARK
from tests.qgis.panel_helpers import (close_dock, load_denmark, save_screenshot, tick_label_layer, wait_for_job,
                                      wait_until)

# NOISYSEG_SCREENSHOT_EPOCHS=10 trains long enough for the pictures in docs/screenshots/ to show real curves.
EPOCHS = int(os.environ.get("NOISYSEG_SCREENSHOT_EPOCHS", "1"))
TINY = {"base_width": 8 if EPOCHS == 1 else 16, "epochs": EPOCHS}


@pytest.fixture
def dock(qgis_iface, project, tmp_path):
    dock = NoisySegDock(qgis_iface)
    dock.confirm = lambda _question: True
    dock.resize(600, 1000)
    dock.data_step.work_folder.setFilePath(str(tmp_path / "work"))
    qgis_iface.messageBar().clear_messages()
    yield dock
    close_dock(dock)


def configure_data_step(dock, old_map) -> None:
    step = dock.data_step
    tick_label_layer(dock, old_map)
    step.field.setField("AfgKode")
    assert step.table.rowCount() == 1 + len(old_map.uniqueValues(old_map.fields().indexOf("AfgKode")))
    step.table.load(DENMARK / "classes.json")
    tick_label_layer(dock, old_map, False)
    tick_label_layer(dock, old_map)  # ticking layers again keeps the edited class table
    assert step.field.currentField() == "AfgKode" and step.table.rowCount() == 7
    step.tile.setValue(64)


def export(dock, old_map) -> Path:
    configure_data_step(dock, old_map)
    assert dock.data_step.export()
    assert wait_for_job(dock).startswith("Exported ")
    return Path(dock.state["dataset"])


def pretrain(dock, epochs: int = TINY["epochs"]) -> dict:
    step = dock.pretrain_step
    step.base_width.setValue(TINY["base_width"])
    step.epochs.setValue(epochs)
    assert step.start()
    return step.selected_run()


def test_panel_drives_the_whole_workflow(dock, project, qgis_iface, tmp_path):
    image, old_map = load_denmark(project)
    dock.data_step.image.setLayer(image)
    assert dock.environment.check()
    assert wait_for_job(dock).startswith("Backend ready: ")
    assert dock.pretrain_step.device.text().startswith(("CPU", "GPU"))
    assert "torch 2." in dock.environment.summary.text()

    dataset = export(dock, old_map)
    assert [dock.data_step.labels.item(i).text() for i in range(dock.data_step.labels.count())] == ["old parcel map"]
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert len(manifest["tiles"]) == 56 and [c["name"] for c in manifest["classes"]][1] == "spring cereals"
    tiles_layers = project.mapLayersByName("tiles")
    assert len(tiles_layers) == 1 and tiles_layers[0].featureCount() == 56
    save_screenshot(dock, "step1_data", tmp_path)

    run = pretrain(dock)
    assert wait_for_job(dock).startswith("Pretrained pretrain-noisy-1 (1 epochs)")
    assert run["complete"] and (Path(run["path"]) / "model.onnx").is_file()
    assert dock.pretrain_step.curve.epoch_loss, "the loss curve got no epoch"
    dock.toolbox.setCurrentIndex(1)
    save_screenshot(dock, "step2_pretrain", tmp_path)

    package = dock.annotate_step.open_package()
    assert dock.annotate_step.suggest_button.isEnabled()
    dock.annotate_step.check_count.setValue(2)
    checks = dock.annotate_step.draw_check_tiles()
    assert len(checks) == 2 and annotation.check_tile_ids(package) == sorted(checks)
    assert dock.annotate_step.current_tile == checks[0]
    dock.annotate_step.top.setValue(2)
    assert dock.annotate_step.suggest()
    assert wait_for_job(dock).startswith("Suggested 2 training tiles")
    chosen = [t for t in dock.annotate_step.queue() if t not in checks]
    assert len(chosen) == 2 and not set(chosen) & set(checks)
    assert dock.annotate_step.current_tile == chosen[0]
    assert annotation.selected_tile_ids(package) == []  # outlined, not selected: no solid selection fill
    labels = package.labels
    first = next(labels.getFeatures(f"\"tile_id\" = '{chosen[0]}'"))
    other_class = (first["class_id"] % 6) + 1
    labels.startEditing()
    labels.changeAttributeValue(first.id(), labels.fields().indexOf("class_id"), other_class)
    for _tile in range(4):
        dock.annotate_step.done_next()
    assert dock.annotate_step.counter.text().startswith("Training tiles done: 2 · check tiles done: 2 of 2")
    dock.toolbox.setCurrentIndex(2)
    save_screenshot(dock, "step3_annotate", tmp_path)

    dock.pretrain_step.base_width.setValue(32)  # a setting for the next pretraining, not the run used here
    dock.finetune_step.epochs.setValue(TINY["epochs"])
    dock.finetune_step.scratch.setChecked(True)
    dock.finetune_step.class_weights.setChecked(True)
    assert dock.finetune_step.start()
    assert wait_for_job(dock).startswith("Fine-tuned: check mIoU "), dock.log.toPlainText()[-2000:]
    assert not labels.isModified() and annotation.clean_layer_uri(package).startswith(str(package.path))
    from osgeo import ogr
    source = ogr.Open(str(package.path))
    assert source.GetLayerByName("clean_labels").GetFeature(first.id()).GetField("class_id") == other_class
    source = None
    finetuned = dock.finetune_step.latest_run()
    scratch_config = json.loads((Path(finetuned["scratch"]) / "config.json").read_text())
    assert scratch_config["base_width"] == TINY["base_width"]  # the pretrained model's architecture
    finetuned_config = json.loads((Path(finetuned["path"]) / "config.json").read_text())
    assert finetuned_config["training"]["class_weights"] and scratch_config["training"]["class_weights"]
    pretrained_config = json.loads((Path(run["path"]) / "config.json").read_text())
    assert not pretrained_config["training"]["class_weights"]
    assert set(finetuned["metrics"]) == {"fine-tuned", "pretrained", "scratch"}
    for m in finetuned["metrics"].values():  # each score is that of the check tiles' own confusion matrices
        matrices = np.array([t["confusion_matrix"] for t in m["per_tile"]])
        assert m["tiles"] == 2 and m["miou"] == pytest.approx(miou(matrices.sum(axis=0)), abs=1e-6)
    assert dock.status.text().startswith(f"Fine-tuned: check mIoU {finetuned['metrics']['fine-tuned']['miou']:.2f}")
    assert all([t["id"] for t in m["per_tile"]] == sorted(checks) for m in finetuned["metrics"].values())
    assert dock.finetune_step.metrics.columnCount() == 4  # score, then the three models
    assert dock.finetune_step.metrics_caption.text().startswith("On 2 check tiles (")
    assert dock.status.text().startswith("Fine-tuned: check mIoU ")
    assert {f["tile_id"]: f["split"] for f in package.tiles.getFeatures() if f["done"] == 1} == {
        **{t: "check" for t in checks}, **{t: "train" for t in chosen}}
    dock.toolbox.setCurrentIndex(3)
    save_screenshot(dock, "step4_finetune", tmp_path)

    model = Path(finetuned["path"]) / "model.onnx"
    assert dock.predict_step.model.currentData() == str(model)
    assert dock.predict_step.start()
    assert wait_for_job(dock).startswith("Predicted prediction-1.tif: 3 layers")
    group = project.layerTreeRoot().findGroup("noisyseg predictions")
    assert group is not None and len(group.children()) == 1
    layers = [node.layer() for node in group.children()[0].children()]
    assert [layer.name() for layer in layers] == ["classes", "disagrees with the old map", "confidence"]
    prediction = layers[0]
    renderer = prediction.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    assert [(c.value, c.color.name(), c.label) for c in renderer.classes()] == [
        (c["id"], c["color"], c["name"]) for c in OnnxSegmenter(model).classes]
    dock.predict_step.opacity.setValue(55)
    assert prediction.renderer().opacity() == pytest.approx(0.55)
    assert dock.predict_step.curves_layout.count() >= 4  # captions and pictures of the pretrain and fine-tune runs
    dock.toolbox.setCurrentIndex(4)
    save_screenshot(dock, "step5_predict", tmp_path)

    saved = tmp_path / "flow.qgz"
    assert project.write(str(saved))
    project.clear()
    assert project.read(str(saved))
    reopened = NoisySegDock(qgis_iface)
    try:
        assert reopened.state["dataset"] == str(dataset)
        assert reopened.state["finetune_runs"][-1]["metrics"] == finetuned["metrics"]
        assert reopened.data_step.tile.value() == 64 and reopened.pretrain_step.base_width.value() == 32
        assert reopened.finetune_step.class_weights.isChecked() and not reopened.pretrain_step.class_weights.isChecked()
        assert reopened.finetune_step.metrics.columnCount() == 4
        assert reopened.annotate_step.counter.text().endswith("2 of 2 (of 56 tiles)")
    finally:
        reopened.shutdown()
        reopened.deleteLater()


def test_cancel_mid_pretrain_leaves_a_resumable_run(dock, project):
    image, old_map = load_denmark(project)
    dock.data_step.image.setLayer(image)
    export(dock, old_map)
    progressed = []
    dock.runner.backend_event.connect(lambda record: progressed.append(record) if record.get("event") == "progress" else None)
    dock.pretrain_step.class_weights.setChecked(True)
    run = pretrain(dock, epochs=50)
    assert "--class-weights" in run["arguments"]
    wait_until(lambda: progressed, 120)
    QCoreApplication.processEvents()
    # the run's state and the progress across all 50 epochs, not within the one that runs
    assert dock.pretrain_step.runs.currentItem().text().endswith("training, epoch 1 of 50")
    assert dock.stage.text() == "Pretraining (noisy): epoch 1 of 50"
    assert dock.progress.value() <= 2 and not dock.progress.isHidden()
    wait_until(lambda: "left" in dock.progress.format(), 60)
    dock.cancel()
    wait_for_job(dock)
    assert not run["complete"]
    assert (Path(run["path"]) / "last.pt").is_file()
    assert "resumable" in dock.pretrain_step.runs.currentItem().text()
    assert dock.pretrain_step.resume_button.isEnabled()
    assert dock.stage.text() == "Cancelled"


def test_backend_error_is_one_message_and_qgis_stays_up(dock, qgis_iface, tmp_path):
    missing = tmp_path / "missing.tif"
    assert dock.run([Step("export", ["export", "--image", missing, "--labels", "x.shp", "--out", tmp_path / "ds"])])
    wait_for_job(dock)
    assert f"{missing} does not exist" in dock.status.text()
    assert any(f"{missing} does not exist" in m for m in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical))
    assert not (tmp_path / "ds").exists()
    assert dock.data_step.export_button.isEnabled()


def test_backend_crash_is_a_message(dock, qgis_iface, tmp_path, monkeypatch):
    crashing = tmp_path / "python"
    crashing.write_text(f"#!{sys.executable}\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    crashing.chmod(crashing.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("NOISYSEG_PYTHON", str(crashing))
    assert dock.run([Step("env", ["env"])])
    wait_for_job(dock)
    assert f"killed by signal {int(signal.SIGKILL)} (out of memory?)" in dock.status.text()
    assert dock.stage.text() == "Failed" and not dock.runner.busy


def test_class_table_merges_values_and_round_trips_classes_json(dock, tmp_path):
    table = dock.data_step.table
    table.fill_from_values(["10", "2", "2", "1", None])
    assert [c["values"] for c in table.classes()] == [[], ["1"], ["2"], ["10"]]
    table.clearSelection()
    table.setRangeSelected(QTableWidgetSelectionRange(1, 0, 2, 3), True)
    assert table.merge_selected()
    assert [(c["id"], c["values"]) for c in table.classes()] == [(0, []), (1, ["1", "2"]), (2, ["10"])]
    table.item(1, 1).setText("cereals")
    table.save(tmp_path / "classes.json")
    saved = json.loads((tmp_path / "classes.json").read_text())
    assert [(c["id"], c["name"], c["values"]) for c in saved["classes"]][1] == (1, "cereals", ["1", "2"])
    table.set_classes([])
    table.load(tmp_path / "classes.json")
    assert table.classes() == saved["classes"]


def test_setup_creates_an_environment_and_points_the_plugin_at_it(dock, tmp_path):
    from qgis.core import QgsSettings

    from qgis_noisyseg.gui.backend import SETTINGS_KEY

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to download in the test\n")
    before = QgsSettings().value(SETTINGS_KEY, "")
    try:
        task = dock.environment.set_up(tmp_path / "env", requirements)
        wait_until(lambda: dock.environment.setup_task is None, 120)
        assert task.error is None
        assert QgsSettings().value(SETTINGS_KEY) == str(tmp_path / "env" / "bin" / "python")
        assert os.access(tmp_path / "env" / "bin" / "python", os.X_OK)
        assert "pip" in dock.log.toPlainText()
        wait_for_job(dock)  # the check that follows a set-up
    finally:
        QgsSettings().setValue(SETTINGS_KEY, before)
