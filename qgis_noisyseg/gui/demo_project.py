"""The demo's QGIS project (``demo.qgz``) and its render, built with QGIS's own API.

``python -m qgis_noisyseg.gui.demo_project DEMO_OUT`` reads ``DEMO_OUT/project_spec.json``
(written by ``noisyseg demo``), writes ``demo.qgz`` with relative paths and a print layout of
six map panels, and exports that layout to PNG. It never imports torch (the demo starts it as
a subprocess). Exit codes: 0 written (one JSON line on stdout), 3 QGIS is not importable,
1 any other failure, 2 bad arguments (one line on stderr each).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

QGIS_MISSING_EXIT = 3
VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
TILE_STYLES = {"train": ("#ffffff", 0.8, "solid"), "val": ("#ffd92f", 0.5, "dash"), "test": ("#00e5ff", 0.8, "solid")}
CELL_WIDTH_MM = 84.0
MARGIN_MM = 6.0
TITLE_MM = 12.0
CAPTION_MM = 6.0
LEGEND_MM = 58.0
GAP_MM = 4.0
RENDER_DPI = 110
LEGEND_TITLES = {"prediction": "prediction", "confidence": "confidence", "disagreement": "old map vs prediction",
                 "clean_tiles": "clean tiles"}


def main(argv: "list[str] | None" = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0].startswith("-"):
        sys.stderr.write("usage: python -m qgis_noisyseg.gui.demo_project DEMO_OUT\n")
        return 2
    out = Path(argv[0]).resolve()
    spec_path = out / "project_spec.json"
    if not spec_path.is_file():
        sys.stderr.write(f"{spec_path} does not exist; run noisyseg demo first\n")
        return 2
    try:
        from qgis.core import QgsApplication
    except ImportError as exc:
        sys.stderr.write(f"QGIS's Python bindings are not importable ({exc}); install QGIS "
                         "(python3-qgis, as make setup does) to get demo.qgz and its render\n")
        return QGIS_MISSING_EXIT
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="noisyseg-demo-qgis-") as profile:
        app = QgsApplication([], False, profile)
        app.initQgis()
        try:
            result = build(out, spec)
        except Exception as exc:  # noqa: BLE001 - one line for the demo to report
            sys.stderr.write(f"the QGIS project could not be built: {type(exc).__name__}: {exc}\n")
            return 1
        finally:
            app.exitQgis()
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def build(out: Path, spec: dict) -> dict:
    """Writes the project and its render; every layer it creates belongs to the project, which
    is cleared before returning (QGIS crashes at exit on layers no project owns)."""
    from qgis.core import Qgis, QgsProject, QgsReferencedRectangle

    project = QgsProject()
    try:
        layers = load_layers(out, spec)
        for layer in layers.values():
            project.addMapLayer(layer, False)
        image = layers["image"]
        project.setCrs(image.crs())
        project.setTitle(spec["title"])
        project.writeEntry("Paths", "/Absolute", False)
        project.viewSettings().setDefaultViewExtent(QgsReferencedRectangle(image.extent(), image.crs()))
        root = project.layerTreeRoot()
        groups = [("Predictions", [("disagreement", False), ("prediction", True), ("confidence", False)]),
                  ("Labels", [("clean_tiles", True), ("noisy_labels", False), ("clean_labels", False)]),
                  ("Imagery", [("image", True)])]
        for group_name, members in groups:
            group = root.addGroup(group_name)
            for role, visible in members:
                node = group.addLayer(layers[role])
                node.setItemVisibilityChecked(visible)
        layout = overview_layout(project, layers, spec)
        project.layoutManager().addLayout(layout)
        render = out / spec["render"]
        export_png(layout, render)
        write_project(project, out / spec["project"])
        return {"project": spec["project"], "render": spec["render"], "layers": len(layers),
                "groups": [name for name, _ in groups], "layout": layout.name(), "qgis": Qgis.QGIS_VERSION}
    finally:
        project.clear()
        del project


def load_layers(out: Path, spec: dict) -> dict:
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    def raster(role: str) -> QgsRasterLayer:
        entry = spec[role]
        layer = QgsRasterLayer(str(out / entry["path"]), entry["name"])
        _check_valid(layer, entry["path"])
        return layer

    def vector(role: str) -> QgsVectorLayer:
        entry = spec[role]
        source = str(out / entry["path"]) + (f"|layername={entry['layer']}" if entry.get("layer") else "")
        layer = QgsVectorLayer(source, entry["name"], "ogr")
        _check_valid(layer, entry["path"])
        return layer

    layers = {role: raster(role) for role in ("image", "prediction", "confidence", "disagreement")}
    layers.update({role: vector(role) for role in ("noisy_labels", "clean_labels", "clean_tiles")})
    style_image(layers["image"], spec["image"]["rgb_bands"])
    for role in ("prediction", "disagreement"):
        message, ok = layers[role].loadDefaultStyle()
        if not ok:
            raise RuntimeError(f"{spec[role]['path']}: its .qml style did not load ({message})")
    check_palette(layers["prediction"], spec["classes"])
    layers["prediction"].renderer().setOpacity(0.85)
    style_confidence(layers["confidence"])
    for role in ("noisy_labels", "clean_labels"):
        style_labels(layers[role], spec["classes"], spec["field"])
    style_tiles(layers["clean_tiles"])
    return layers


def _check_valid(layer, path: str) -> None:
    if not layer.isValid():
        raise RuntimeError(f"QGIS cannot open {path}")


def style_image(layer, rgb_bands) -> None:
    from qgis.core import QgsContrastEnhancement, QgsMultiBandColorRenderer, QgsRasterMinMaxOrigin

    red, green, blue = rgb_bands
    layer.setRenderer(QgsMultiBandColorRenderer(layer.dataProvider(), red, green, blue))
    layer.setContrastEnhancement(QgsContrastEnhancement.ContrastEnhancementAlgorithm.StretchToMinimumMaximum, QgsRasterMinMaxOrigin.Limits.CumulativeCut)


def check_palette(layer, classes) -> None:
    from qgis.core import QgsPalettedRasterRenderer

    renderer = layer.renderer()
    if not isinstance(renderer, QgsPalettedRasterRenderer):
        raise RuntimeError(f"the prediction's style is {type(renderer).__name__}, not a paletted renderer")
    found = [(c.value, c.color.name(), c.label) for c in renderer.classes()]
    wanted = [(c["id"], c["color"].lower(), c["name"]) for c in classes]
    if found != wanted:
        raise RuntimeError(f"the prediction's palette {found} is not the model's classes {wanted}")


def style_confidence(layer) -> None:
    from qgis.PyQt.QtGui import QColor
    from qgis.core import QgsColorRampShader, QgsRasterShader, QgsSingleBandPseudoColorRenderer

    top = 100.0
    items = [QgsColorRampShader.ColorRampItem(top * i / (len(VIRIDIS) - 1), QColor(color),
                                              f"{top * i / (len(VIRIDIS) - 1):g} %")
             for i, color in enumerate(VIRIDIS)]
    ramp = QgsColorRampShader(0.0, top)
    ramp.setColorRampType(QgsColorRampShader.Type.Interpolated)
    ramp.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(top)
    layer.setRenderer(renderer)


def style_labels(layer, classes, field: str) -> None:
    """One rule per class on the map's own attribute, through the class map's source values;
    values of no class are drawn hollow (export burns them as ignore)."""
    from qgis.PyQt.QtGui import QColor
    from qgis.core import QgsFillSymbol, QgsRuleBasedRenderer

    root = QgsRuleBasedRenderer.Rule(None)
    for cls in classes:
        if not cls.get("values"):
            continue
        fill = QColor(cls["color"])
        symbol = QgsFillSymbol.createSimple({"color": f"{fill.red()},{fill.green()},{fill.blue()},200",
                                             "outline_color": fill.darker(160).name(), "outline_width": "0.2"})
        values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in cls["values"])
        root.appendChild(QgsRuleBasedRenderer.Rule(symbol, 0, 0, f'to_string("{field}") IN ({values})', cls["name"]))
    other = QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": "#9e9e9e", "outline_width": "0.3",
                                        "outline_style": "dash"})
    root.appendChild(QgsRuleBasedRenderer.Rule(other, 0, 0, "", "in no class (ignored)", "", True))
    layer.setRenderer(QgsRuleBasedRenderer(root))


def style_tiles(layer) -> None:
    """Outlines by split, each over a thin dark line so that it shows on any background."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsFillSymbol, QgsRendererCategory, QgsSimpleFillSymbolLayer

    roles = {}
    for feature in layer.getFeatures():
        roles.setdefault(feature["split"], feature["role"])
    categories = []
    for split, (color, width, style) in TILE_STYLES.items():
        if split not in roles:
            continue
        symbol = QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": "#202020",
                                             "outline_width": str(width + 0.4)})
        symbol.appendSymbolLayer(QgsSimpleFillSymbolLayer.create({"color": "0,0,0,0", "outline_color": color,
                                                                  "outline_width": str(width), "outline_style": style}))
        categories.append(QgsRendererCategory(split, symbol, roles[split]))
    layer.setRenderer(QgsCategorizedSymbolRenderer("split", categories))


def overview_layout(project, layers: dict, spec: dict):
    """Six map panels of the project's layers (image, noisy labels, clean labels and tiles,
    prediction, confidence, disagreement), a title and a legend."""
    from qgis.PyQt.QtCore import QRectF
    from qgis.PyQt.QtGui import QFont
    from qgis.core import (QgsLayoutItemLabel, QgsLayoutItemLegend, QgsLayoutItemMap, QgsLayoutPoint, QgsLayoutSize,
                           QgsMapLayerLegendUtils, QgsPrintLayout, QgsSimpleLegendNode, QgsUnitTypes)

    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    layout.setName("demo overview")
    extent = layers["image"].extent()
    panels = [("Sentinel-2 image", ["image"]),
              ("noisy labels: the old map (blank: unknown)", ["noisy_labels"]),
              ("clean labels: the 2016 map and the clean tiles", ["clean_tiles", "clean_labels"]),
              (spec["prediction"]["name"], ["prediction"]),
              ("confidence", ["confidence"]),
              ("disagrees with the old map", ["disagreement", "image"])]
    columns, rows = 3, 2
    map_height = CELL_WIDTH_MM * extent.height() / extent.width()
    page_width = 2 * MARGIN_MM + columns * CELL_WIDTH_MM + columns * GAP_MM + LEGEND_MM
    page_height = 2 * MARGIN_MM + TITLE_MM + rows * (CAPTION_MM + map_height) + (rows - 1) * GAP_MM
    layout.pageCollection().page(0).setPageSize(QgsLayoutSize(page_width, page_height, QgsUnitTypes.LayoutUnit.LayoutMillimeters))
    title = QgsLayoutItemLabel(layout)
    title.setText(spec["title"])
    title.setFont(QFont("DejaVu Sans", 15, QFont.Weight.Bold))
    layout.addLayoutItem(title)
    title.attemptMove(QgsLayoutPoint(MARGIN_MM, MARGIN_MM))
    title.attemptResize(QgsLayoutSize(page_width - 2 * MARGIN_MM, TITLE_MM - 2))
    maps = {}
    for index, (caption_text, roles) in enumerate(panels):
        x = MARGIN_MM + (index % columns) * (CELL_WIDTH_MM + GAP_MM)
        y = MARGIN_MM + TITLE_MM + (index // columns) * (CAPTION_MM + map_height + GAP_MM)
        caption = QgsLayoutItemLabel(layout)
        caption.setText(caption_text)
        caption.setFont(QFont("DejaVu Sans", 9))
        layout.addLayoutItem(caption)
        caption.attemptMove(QgsLayoutPoint(x, y))
        caption.attemptResize(QgsLayoutSize(CELL_WIDTH_MM, CAPTION_MM))
        item = QgsLayoutItemMap(layout)
        item.attemptSetSceneRect(QRectF(x, y + CAPTION_MM, CELL_WIDTH_MM, map_height))
        item.setLayers([layers[role] for role in roles])
        item.setKeepLayerSet(True)
        item.setFrameEnabled(True)
        layout.addLayoutItem(item)
        item.zoomToExtent(extent)
        maps[roles[0]] = item
    legend = QgsLayoutItemLegend(layout)
    legend.setTitle("Legend")
    legend.setLinkedMap(maps["prediction"])
    legend.setAutoUpdateModel(False)
    group = legend.model().rootGroup()
    group.clear()
    for role, title in LEGEND_TITLES.items():
        node = group.addLayer(layers[role])
        node.setCustomProperty("legend/title-label", title)
        nodes = legend.model().layerLegendNodes(node)
        if nodes and isinstance(nodes[0], QgsSimpleLegendNode):  # a raster's "Band 1 (...)" line
            QgsMapLayerLegendUtils.setLegendNodeOrder(node, list(range(1, len(nodes))))
            legend.model().refreshLayerLegend(node)
    layout.addLayoutItem(legend)
    legend.attemptMove(QgsLayoutPoint(page_width - MARGIN_MM - LEGEND_MM, MARGIN_MM + TITLE_MM))
    legend.adjustBoxSize()
    return layout


def export_png(layout, path: Path) -> None:
    """The layout's page as a PNG (rendered to an image, so QGIS does not try to georeference
    the PNG in place, which GDAL's PNG driver refuses)."""
    from qgis.PyQt.QtCore import QSize
    from qgis.core import QgsLayoutExporter

    image = QgsLayoutExporter(layout).renderPageToImage(0, QSize(), RENDER_DPI)
    if image.isNull():
        raise RuntimeError("QGIS rendered an empty image of the layout")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{path.stem}.tmp-", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        if not image.save(tmp, "PNG"):
            raise RuntimeError(f"could not write {path}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_project(project, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f"{path.stem}.tmp-", suffix=".qgz", dir=path.parent)
    os.close(fd)
    try:
        if not project.write(tmp):
            raise RuntimeError(f"QGIS could not write {path.name}: {project.error()}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


if __name__ == "__main__":
    sys.exit(main())
