"""The panel as a newcomer first sees it, measured on the widgets: nothing scrolls sideways or is
cut off at the dock's default width, every metric row shows, the status starts empty, the old
map is drawn by class, and the nodata of the chosen image is shown before anything is exported."""

from __future__ import annotations

import json
import shutil

from pathlib import Path

import numpy as np
import pytest
import rasterio
from qgis.core import QgsCategorizedSymbolRenderer, QgsRasterLayer
from qgis.PyQt.QtCore import QCoreApplication, QPoint
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import QAbstractButton, QAbstractScrollArea, QWidget
from rasterio.transform import from_origin

from qgis_noisyseg.core.classes import ClassMap
from qgis_noisyseg.gui.panel import MIN_WIDTH, NoisySegDock
from tests.conftest import DENMARK
from tests.qgis.panel_helpers import load_denmark, tick_label_layer


@pytest.fixture
def dock(qgis_iface, project, tmp_path):
    dock = NoisySegDock(qgis_iface)
    dock.data_step.work_folder.setFilePath(str(tmp_path / "work"))
    dock.state["work_folder"] = str(tmp_path / "work")  # nothing is written to the default folder in $HOME
    yield dock
    dock.shutdown()
    dock.deleteLater()


def settle() -> None:
    for _ in range(5):
        QCoreApplication.processEvents()


def cut_off(dock) -> list[str]:
    """The visible widgets of the open page that reach past the scroll area's viewport, and the
    buttons and combo boxes narrower than their text."""
    viewport = dock.scroll.viewport()
    problems = []
    for widget in dock.scroll.widget().findChildren(QWidget):
        if not widget.isVisibleTo(dock) or widget.width() == 0:
            continue
        right = widget.mapTo(viewport, QPoint(widget.width(), 0)).x()
        if right > viewport.width() + 1:
            problems.append(f"{widget.objectName() or type(widget).__name__} ends at {right} > {viewport.width()}")
        text = widget.text() if isinstance(widget, QAbstractButton) else ""
        if text and widget.sizeHint().width() > widget.width() + 1:
            problems.append(f"“{text}” needs {widget.sizeHint().width()} px, has {widget.width()}")
        if isinstance(widget, QAbstractScrollArea) and widget.horizontalScrollBar().maximum() > 0:
            problems.append(f"{widget.objectName() or type(widget).__name__} scrolls sideways")
    return problems


FAKE = {"miou": 0.41, "overall_accuracy": 0.63, "tiles": 4, "pixels": 16384,
        "interval": {"miou": [0.3, 0.5], "overall_accuracy": [0.5, 0.7]},
        "per_class": [{"name": f"class {i}", "iou": 0.1 * i} for i in range(7)]}


def test_at_the_default_width_no_page_scrolls_sideways_or_cuts_a_text(dock, project, tmp_path, denmark_old_map):
    from qgis.PyQt.QtGui import QImage

    from qgis_noisyseg.gui.steps.predict import ScaledPicture

    wide = QImage(1500, 500, QImage.Format.Format_RGB32)  # a training-curve picture wider than the dock
    wide.fill(QColor("#336699"))
    (tmp_path / "run").mkdir()
    assert wide.save(str(tmp_path / "run" / "curves.png"))
    dock.predict_step._show_curves({"path": str(tmp_path / "run")})
    image, old_map = load_denmark(project)
    dock.data_step.image.setLayer(image)
    tick_label_layer(dock, old_map)
    dock.data_step.field.setField("AfgKode")
    dock.state["dataset"] = str(denmark_old_map)  # the Denmark classes: the palette and the metrics' rows
    dock.annotate_step.draw_check_tiles()
    names = [c.name for c in ClassMap.load(DENMARK / "classes.json").classes]
    denmark = {**FAKE, "per_class": [{"name": name, "iou": 0.5} for name in names]}
    dock.finetune_step.show_metrics({"fine-tuned": denmark, "pretrained": denmark, "scratch": denmark})
    dock.resize(MIN_WIDTH, 600)  # short enough that the pages scroll down: their scroll bars take width
    dock.show()
    for page in range(dock.toolbox.count()):
        dock.toolbox.setCurrentIndex(page)
        settle()
        assert dock.scroll.widget().width() <= dock.scroll.viewport().width()
        assert dock.scroll.widget().minimumSizeHint().width() <= dock.scroll.viewport().width(), \
            dock.toolbox.itemText(page)
        if page == 4:  # the curve is scaled to the page's width, its aspect ratio kept
            picture = dock.predict_step.findChild(ScaledPicture)
            assert 60 <= picture.pixmap().width() <= dock.scroll.viewport().width()
            assert abs(picture.pixmap().height() * 3 - picture.pixmap().width()) <= 3
        problems = cut_off(dock)
        if problems:
            step = dock.steps[page]
            problems.append(f"page min {step.minimumSizeHint().width()}")
            for w in step.findChildren(QWidget):
                if w.isVisibleTo(step) and w.minimumSizeHint().width() > 150:
                    problems.append(f"  {w.objectName() or type(w).__name__} {w.minimumSizeHint().width()} {getattr(w, 'text', lambda: '')() if isinstance(w, QAbstractButton) else ''}")
        assert problems == [], dock.toolbox.itemText(page) + "\n" + "\n".join(problems)
    dock.hide()


def test_the_metrics_table_shows_every_row_and_every_cell_whole(dock):
    table = dock.finetune_step.metrics
    names = [c.name for c in ClassMap.load(DENMARK / "classes.json").classes]
    denmark = {**FAKE, "per_class": [{"name": name, "iou": 0.1 * i} for i, name in enumerate(names)]}
    dock.finetune_step.show_metrics({"fine-tuned": denmark, "pretrained": denmark, "scratch": denmark})
    dock.resize(MIN_WIDTH, 600)
    dock.show()
    dock.toolbox.setCurrentIndex(3)
    settle()
    assert table.columnCount() == 4 and table.rowCount() == 2 + 7  # mIoU, accuracy, IoU of each class
    assert [table.horizontalHeaderItem(c).text() for c in range(4)] == ["Score", "fine-\ntuned", "pre-\ntrained", "scratch"]
    assert table.item(0, 1).text() == "0.41\n0.30–0.50"  # the score, its 90 % interval under it
    for row in range(table.rowCount()):
        rect = table.visualRect(table.model().index(row, 0))
        assert rect.top() >= 0 and rect.bottom() <= table.viewport().height(), (row, rect, table.viewport().height())
    assert table.verticalScrollBar().maximum() == 0 and table.horizontalScrollBar().maximum() == 0
    for column in range(1, table.columnCount()):  # no score, interval or header elided
        assert table.columnWidth(column) >= max(table.sizeHintForColumn(column),
                                                table.horizontalHeader().sectionSizeHint(column)), column
    metrics = table.fontMetrics()  # a score's name may wrap, but no word of it is cut, and its row is tall enough
    for row in range(table.rowCount()):
        words = table.item(row, 0).text().split()
        assert max(metrics.horizontalAdvance(word) for word in words) < table.columnWidth(0), row
        assert table.rowHeight(row) >= table.sizeHintForRow(row), row
    dock.hide()


def test_the_status_is_empty_and_no_progress_shows_at_start(dock):
    dock.show()
    settle()
    assert dock.status.text() == "" and dock.stage.text() == ""
    assert not dock.progress.isVisible()
    dock.hide()


def test_the_old_map_is_drawn_by_class_as_soon_as_it_is_chosen(dock, project):
    _image, old_map = load_denmark(project)
    tick_label_layer(dock, old_map)
    dock.data_step.field.setField("AfgKode")
    dock.data_step.table.load(DENMARK / "classes.json")
    assert dock.data_step.style_label_layers() == 1
    renderer = old_map.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer) and renderer.classAttribute() == "AfgKode"
    classes = ClassMap.load(DENMARK / "classes.json").classes
    expected = {str(value): QColor(c.color).name() for c in classes for value in c.values}
    drawn = {str(category.value()): category.symbol().color().name() for category in renderer.categories()}
    assert drawn == expected and len(drawn) > 6


def collared(path, value: int, border: int) -> str:
    pixels = np.random.default_rng(0).integers(30, 200, size=(3, 100, 100), dtype=np.uint8)
    pixels[:, :border, :] = value
    pixels[:, :, :border] = value
    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=3, dtype="uint8", crs="EPSG:32632",
                       transform=from_origin(500000, 6200000, 10, 10)) as dst:
        dst.write(pixels)
    return str(path)


def test_the_chosen_images_nodata_is_shown_and_the_option_reaches_export(dock, project, tmp_path, monkeypatch):
    black = QgsRasterLayer(collared(tmp_path / "black.tif", 0, 10), "black border")
    project.addMapLayer(black)
    dock.data_step.image.setLayer(black)
    _image, old_map = load_denmark(project)
    tick_label_layer(dock, old_map)
    started = []
    monkeypatch.setattr(dock, "run", lambda steps, **_kwargs: started.append(steps[0].arguments) or True)
    # the border is found by export (the backend); the panel reads only what the file declares
    assert dock.data_step.nodata_detected.text() == "The file declares no nodata: export looks for a black or " \
                                                    "white border around the image and reports it here."
    dock.data_step.nodata.setCurrentIndex(dock.data_step.nodata.findData("none"))
    assert dock.data_step.nodata_detected.text() == "Detected: none: every pixel is data (set here)"
    assert dock.data_step.nodata_option() == "none" and dock.data_step.export()
    assert started[-1][:3] == ["export", "--image", str(tmp_path / "black.tif")]
    assert started[-1][started[-1].index("--nodata") + 1] == "none"
    dock.data_step.nodata.setCurrentIndex(dock.data_step.nodata.findData("auto"))
    assert dock.data_step.nodata_option() is None and dock.data_step.export()
    assert "--nodata" not in started[-1] and len(started) == 2
    with rasterio.open(collared(tmp_path / "tagged.tif", 0, 10), "r+") as dst:
        dst.nodata = 0
    tagged = QgsRasterLayer(str(tmp_path / "tagged.tif"), "tagged")
    project.addMapLayer(tagged)
    dock.data_step.image.setLayer(tagged)
    assert dock.data_step.nodata_detected.text() == "Detected: the file's nodata tag, value 0"


def test_after_export_the_data_step_says_what_nodata_the_dataset_has(dock, project, denmark_old_map, tmp_path):
    image, _old_map = load_denmark(project)
    dock.data_step.image.setLayer(image)
    dock.state["dataset"] = str(denmark_old_map)
    dock.data_step.refresh()
    assert dock.data_step.nodata_detected.text() == "In the exported dataset: none: the file tags no nodata and has " \
                                                    "no black or white border"
    collar = shutil.copytree(denmark_old_map, tmp_path / "collar")
    manifest = json.loads((collar / "manifest.json").read_text())
    manifest["image"]["nodata_source"] = {"source": "collar", "value": 0, "collar_fraction": 0.19}
    (collar / "manifest.json").write_text(json.dumps(manifest))
    dock.state["dataset"] = str(collar)
    dock.data_step.refresh()
    assert dock.data_step.nodata_detected.text() == "In the exported dataset: a black border (19% of the pixels) " \
                                                    "treated as nodata; choose “none” to keep it"


def test_the_class_palette_sets_and_saves_the_class_of_the_selected_polygon(dock, denmark_old_map):
    dock.state["dataset"] = str(denmark_old_map)
    step = dock.annotate_step
    step.open_package()
    assert step.counter.text().endswith("\nDraw and correct check tiles before the first fine-tune: the models are "
                                        "scored on them.")  # the page asks for check tiles
    checks = step.draw_check_tiles()
    assert step.current_tile == checks[0] and step.tile_label.text().startswith(f"Tile 1 of 4: {checks[0]} (check tile")
    labels = step.package.labels
    feature = next(f for f in labels.getFeatures() if f["tile_id"] in checks)
    new_class = feature["class_id"] % 6 + 1
    labels.selectByIds([feature.id()])
    dock.show()
    dock.toolbox.setCurrentIndex(2)  # the Annotate page, where the palette is
    settle()
    button = dock.findChild(QAbstractButton, f"noisyseg_class_{new_class}")
    assert button.text().startswith(f"{new_class} ") and button.shortcut().toString() == str(new_class)
    button.click()
    settle()
    assert labels.getFeature(feature.id())["class_id"] == new_class and not labels.isModified()  # set and saved
    assert step.undo_edit() and labels.getFeature(feature.id())["class_id"] == feature["class_id"]
    dock.hide()


def test_the_work_folder_defaults_to_a_folder_beside_the_saved_project(qgis_iface, project, tmp_path):
    fresh = NoisySegDock(qgis_iface)
    try:
        assert fresh.data_step.work_folder.filePath() == str(Path.home() / "noisyseg")  # no project saved yet
        project.setFileName(str(tmp_path / "survey" / "fields.qgz"))
        settle()
        assert fresh.data_step.work_folder.filePath() == str(tmp_path / "survey" / "noisyseg")
    finally:
        fresh.shutdown()
        fresh.deleteLater()


def test_width_and_epochs_follow_the_detected_device_until_the_operator_changes_them(dock):
    from qgis_noisyseg.gui.steps.pretrain import DEVICE_DEFAULTS

    step = dock.pretrain_step
    step.show_device({"torch": "2.3", "gpu": None})
    assert (step.base_width.value(), step.epochs.value()) == DEVICE_DEFAULTS["cpu"] == (32, 10)
    step.show_device({"torch": "2.3", "gpu": "NVIDIA H200"})
    assert (step.base_width.value(), step.epochs.value()) == DEVICE_DEFAULTS["gpu"] == (64, 20)
    step.epochs.setValue(7)  # the operator's choice is kept
    step.show_device({"torch": "2.3", "gpu": None})
    assert (step.base_width.value(), step.epochs.value()) == (64, 7)


def test_the_nodata_option_reaches_suggest_and_predict(dock, project, denmark_old_map, tmp_path, monkeypatch):
    image, _old_map = load_denmark(project)
    dock.data_step.image.setLayer(image)
    dock.data_step.nodata.setCurrentIndex(dock.data_step.nodata.findData("value"))
    dock.data_step.nodata_value.setText("7")
    run_folder = tmp_path / "runs" / "pretrain-noisy-1"
    run_folder.mkdir(parents=True)
    (run_folder / "model.onnx").write_bytes(b"")  # only its path is passed on here
    dock.state["dataset"] = str(denmark_old_map)
    dock.state["pretrain_runs"] = [{"path": str(run_folder), "method": "noisy", "complete": True, "arguments": []}]
    dock.state["selected_pretrain_run"] = str(run_folder)
    started = []
    monkeypatch.setattr(dock, "run", lambda steps, **_kwargs: started.append(steps) or True)
    dock.annotate_step.open_package()
    dock.predict_step.refresh()
    assert dock.annotate_step.suggest() and dock.predict_step.start()
    suggest, predict = ([str(a) for a in chain[0].arguments] for chain in started)
    assert suggest[0] == "suggest" and suggest[-2:] == ["--nodata", "7"]
    assert predict[0] == "predict" and predict[predict.index("--nodata") + 1] == "7"
