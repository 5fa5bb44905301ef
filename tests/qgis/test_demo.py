"""`make demo DEMO=quick`: every output is written, and demo.qgz opens in real QGIS.

The demo runs once per module, in a subprocess with the venv's Python, so torch never enters
this QGIS test process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile

import pytest
from qgis.PyQt.QtGui import QImage
from qgis.core import QgsLayerTreeGroup, QgsLayerTreeLayer, QgsPalettedRasterRenderer, QgsProject

from qgis_noisyseg.inference import OnnxSegmenter
from tests.conftest import REPO, sigterm_at_first_progress

FIGURES = ("training_curves.png", "label_efficiency.png", "side_by_side.png", "demo_project.png")
RASTERS = ("prediction", "confidence", "disagreement")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo_out"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-m", "qgis_noisyseg", "demo", "--quick", "--out", str(out)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_quick_demo_writes_every_output(demo):
    out, result = demo
    for name in RASTERS:
        assert (out / f"{name}.tif").stat().st_size > 0
        assert (out / f"{name}.qml").stat().st_size > 0
    for path in ("report.md", "summary.json", "results.csv", "model.onnx", "demo.qgz", "clean_tiles.gpkg",
                 "analysis/pretrained_vs_finetuned/layers.json", "analysis/pretrained_vs_finetuned/layers.png",
                 "analysis/noisy_vs_clean/layers.json", "analysis/noisy_vs_clean/layers.png"):
        assert (out / path).is_file(), path
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["quick"] and summary["project"]["status"] == "written"
    printed = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert printed["report"] == str(out / "report.md")
    assert printed["project"].startswith(str(out / "demo.qgz"))
    headline = summary["headline"]
    for key, value in (("scratch", headline["scratch"]), ("finetuned", headline["finetuned"]),
                       ("noisy_only", headline["noisy_only"])):
        assert 0.0 <= value <= 1.0
        assert float(printed[f"test_miou_{key}"]) == pytest.approx(value, abs=1e-4)


def test_every_entry_of_the_demo_folder_is_one_the_demo_may_replace(demo):
    """So that a second `make demo` into the same folder replaces the first (it refused
    clean_tiles.gpkg as the operator's file)."""
    from qgis_noisyseg.core.markers import foreign_entries

    out, _ = demo
    assert (out / "clean_tiles.gpkg").is_file()
    assert foreign_entries(out, "demo") == []


def test_report_has_the_table_and_the_headline(demo):
    out, _ = demo
    report = (out / "report.md").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    ks = summary["settings"]["ks"]
    assert "| model | " + " | ".join(f"K = {k}" for k in ks) + " |" in report
    for init, label in (("scratch", "from scratch"), ("finetuned", "fine-tuned from noisy")):
        row = next(line for line in report.splitlines() if line.startswith(f"| {label} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")[1:]]
        assert [cell.split(" ")[0] for cell in cells] == [f"{summary['label_efficiency'][init][str(k)]['mean']:.3f}" for k in ks]
    h = summary["headline"]
    assert (f"from scratch {h['scratch']:.3f}, fine-tuned from noisy {h['finetuned']:.3f}; noisy only, no clean tiles "
            f"{h['noisy_only']:.3f}") in report
    assert "| **encoder mean** |" in report and "| **decoder mean** |" in report
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert (out / target).is_file(), target


@pytest.mark.parametrize("name", FIGURES)
def test_figures_are_real_images(demo, name):
    out, _ = demo
    image = QImage(str(out / "figures" / name))
    assert not image.isNull()
    assert image.width() >= 400 and image.height() >= 300
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 20


def test_the_project_opens_in_qgis_with_styled_layers(qgis_app, demo):
    out, _ = demo
    classes = OnnxSegmenter(out / "model.onnx").classes
    with zipfile.ZipFile(out / "demo.qgz") as archive:
        qgs = next(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".qgs"))
    sources = [s for s in re.findall(r"<datasource>([^<]*)</datasource>", qgs) if s]
    assert len(sources) == 7 and all(source.startswith("./") for source in sources), sources

    project = QgsProject()
    try:
        assert project.read(str(out / "demo.qgz"))
        layers = list(project.mapLayers().values())
        assert len(layers) == 7
        assert all(layer.isValid() for layer in layers), [layer.name() for layer in layers if not layer.isValid()]
        root = project.layerTreeRoot()
        groups = [child.name() for child in root.children() if isinstance(child, QgsLayerTreeGroup)]
        assert groups == ["Predictions", "Labels", "Imagery"]
        assert all(isinstance(node, QgsLayerTreeLayer) for group in root.children() for node in group.children())
        prediction = next(layer for layer in layers if layer.source().endswith("prediction.tif"))
        renderer = prediction.renderer()
        assert isinstance(renderer, QgsPalettedRasterRenderer)
        assert [(c.value, c.color.name(), c.label) for c in renderer.classes()] == \
            [(c["id"], c["color"].lower(), c["name"]) for c in classes]
        assert [layout.name() for layout in project.layoutManager().layouts()] == ["demo overview"]
    finally:
        project.clear()
        del project


def test_sigterm_cancels_the_demo_with_130(tmp_path):
    result = sigterm_at_first_progress("demo", "--quick", "--out", tmp_path / "demo_out",
                                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.code == 130, result.err[-2000:]
    assert result.err.strip().splitlines()[-1] == "noisyseg demo: cancelled (SIGTERM)"


def test_the_project_builder_says_in_one_line_when_qgis_is_missing(tmp_path):
    (tmp_path / "project_spec.json").write_text("{}", encoding="utf-8")
    code = ("import sys; sys.modules['qgis'] = None; from qgis_noisyseg.gui import demo_project; "
            f"sys.exit(demo_project.main([{str(tmp_path)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1 and "QGIS" in result.stderr
