"""How the layers look and are edited: class colours and names, the class drop-down, the tiles'
to-do / done / check symbols, and an old map drawn by class."""

from __future__ import annotations

from typing import Mapping, Optional

from qgis.core import (QgsCategorizedSymbolRenderer, QgsDefaultValue, QgsEditorWidgetSetup, QgsExpression,
                       QgsFieldConstraints, QgsFillSymbol, QgsLinePatternFillSymbolLayer, QgsRendererCategory,
                       QgsRuleBasedRenderer, QgsVectorLayer)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor

from ...spec.names import CLASS_FIELD, DONE_FIELD, SCORE_FIELD, SPLIT_FIELD, TILE_ID_FIELD, TILES_LAYER
from .base import CHECK, tr

FILL_ALPHA = 60  # a light fill: the image shows through the polygons being corrected
TODO_COLOUR = "#00e5ff"
DONE_COLOUR = "#2ca02c"
CHECK_COLOUR = "#e040fb"


def class_value_map(classes: list[dict]) -> dict:
    """The ValueMap editor widget's configuration: class names shown, class ids stored."""
    return {"map": [{str(c["name"]): str(int(c["id"]))} for c in classes]}


def has_class_style(layer: QgsVectorLayer, classes: list[dict]) -> bool:
    setup = layer.editorWidgetSetup(layer.fields().indexOf(CLASS_FIELD))
    return setup.type() == "ValueMap" and setup.config() == class_value_map(classes)


def style_clean_layer(layer: QgsVectorLayer, classes: list[dict], default_class: int) -> None:
    """Fills in the class colours, a class drop-down in the attribute form that remembers the last
    class entered, and the tile id filled in from the tiles layer of the project."""
    categories = []
    for cls in classes:
        colour = QColor(cls["color"])
        symbol = QgsFillSymbol.createSimple({"color": _rgba(colour, FILL_ALPHA), "style": "solid",
                                             "outline_color": _rgba(colour), "outline_width": "0.6"})
        categories.append(QgsRendererCategory(int(cls["id"]), symbol, str(cls["name"])))
    layer.setRenderer(QgsCategorizedSymbolRenderer(CLASS_FIELD, categories))
    label_with_class_names(layer, CLASS_FIELD, {int(cls["id"]): str(cls["name"]) for cls in classes})

    class_index = layer.fields().indexOf(CLASS_FIELD)
    layer.setEditorWidgetSetup(class_index, QgsEditorWidgetSetup("ValueMap", class_value_map(classes)))
    layer.setDefaultValueDefinition(class_index, QgsDefaultValue(str(int(default_class))))
    layer.setFieldAlias(class_index, tr("Class"))
    layer.setFieldConstraint(class_index, QgsFieldConstraints.Constraint.ConstraintNotNull)
    layer.setConstraintExpression(class_index, f'"{CLASS_FIELD}" >= 0 AND "{CLASS_FIELD}" < {len(classes)}',
                                  tr("A class of the dataset"))
    tile_index = layer.fields().indexOf(TILE_ID_FIELD)
    layer.setFieldAlias(tile_index, tr("Tile"))
    layer.setDefaultValueDefinition(tile_index, QgsDefaultValue(
        f"aggregate(layer:='{TILES_LAYER}', aggregate:='max', expression:=\"{TILE_ID_FIELD}\", "
        f"filter:=intersects($geometry, point_on_surface(geometry(@parent))))"))
    form = layer.editFormConfig()
    form.setReuseLastValue(class_index, True)
    form.setReadOnly(tile_index, True)
    layer.setEditFormConfig(form)


def label_with_class_names(layer: QgsVectorLayer, field: str, names: Mapping) -> None:
    """Class names on the map, one per polygon, with a white halo; shown from 1:25,000 down."""
    from qgis.core import (QgsPalLayerSettings, QgsTextBufferSettings, QgsTextFormat,
                           QgsVectorLayerSimpleLabeling)

    column = QgsExpression.quotedColumnRef(field)
    cases = " ".join(f"WHEN {column} = {QgsExpression.quotedValue(key)} THEN {QgsExpression.quotedString(name)}"
                     for key, name in names.items())  # QGIS has no "CASE x WHEN v": a condition per class
    settings = QgsPalLayerSettings()
    settings.isExpression = True
    settings.fieldName = f"CASE {cases} ELSE to_string({column}) END" if cases else column
    text = QgsTextFormat()
    text.setSize(8)
    halo = QgsTextBufferSettings()
    halo.setEnabled(True)
    halo.setSize(0.8)
    text.setBuffer(halo)
    settings.setFormat(text)
    settings.scaleVisibility = True
    settings.maximumScale = 1
    settings.minimumScale = 25000
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def style_by_class(layer: QgsVectorLayer, field: str, classes: list[dict]) -> int:
    """The old map (a label layer) drawn by class with the class table's colours: one category per
    source value, named after its class. Returns the number of categories."""
    index = layer.fields().indexOf(field)
    if index < 0:
        return 0
    numeric = layer.fields().at(index).isNumeric()
    categories = []
    for cls in classes:
        colour = QColor(cls["color"])
        for value in cls.get("values", []):
            key = value
            if numeric:
                try:
                    key = int(value) if float(value).is_integer() else float(value)
                except (TypeError, ValueError):
                    continue
            symbol = QgsFillSymbol.createSimple({"color": _rgba(colour, 150), "style": "solid",
                                                 "outline_color": _rgba(colour.darker(140)), "outline_width": "0.2"})
            categories.append(QgsRendererCategory(key, symbol, f"{cls['name']} ({value})"))
    if not categories:
        return 0
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))
    layer.triggerRepaint()
    return len(categories)


def _rgba(colour: QColor, alpha: Optional[int] = None) -> str:
    return f"{colour.red()},{colour.green()},{colour.blue()},{colour.alpha() if alpha is None else alpha}"


def style_tiles_layer(layer: QgsVectorLayer) -> None:
    """Outlines for the tiles to do, a green hatch for those done, magenta for check tiles (dashed
    to do, hatched done); ``done`` is a check box and the attribute table lists the highest
    suggestion scores first."""
    def outline(colour: str, width: str, dashed: bool = False) -> QgsFillSymbol:
        return QgsFillSymbol.createSimple({"style": "no", "outline_color": colour, "outline_width": width,
                                           "outline_style": "dash" if dashed else "solid"})

    def hatched(colour: str) -> QgsFillSymbol:
        symbol = outline(colour, "0.8")
        symbol.insertSymbolLayer(0, QgsLinePatternFillSymbolLayer.create({
            "color": colour, "line_color": colour, "lineangle": "45", "distance": "2", "line_width": "0.3"}))
        return symbol

    check = f'"{SPLIT_FIELD}" = \'{CHECK}\''
    root = QgsRuleBasedRenderer.Rule(None)
    root.appendChild(QgsRuleBasedRenderer.Rule(hatched(CHECK_COLOUR), 0, 0, f'{check} AND "{DONE_FIELD}" = 1',
                                               tr("Check tile, done")))
    root.appendChild(QgsRuleBasedRenderer.Rule(outline(CHECK_COLOUR, "0.8", True), 0, 0, check, tr("Check tile, to do")))
    root.appendChild(QgsRuleBasedRenderer.Rule(hatched(DONE_COLOUR), 0, 0, f'"{DONE_FIELD}" = 1', tr("Done")))
    root.appendChild(QgsRuleBasedRenderer.Rule(outline(TODO_COLOUR, "0.5"), 0, 0, "ELSE", tr("To do")))
    layer.setRenderer(QgsRuleBasedRenderer(root))

    fields = layer.fields()
    for name, alias in ((TILE_ID_FIELD, tr("Tile")), (SPLIT_FIELD, tr("Split")), (DONE_FIELD, tr("Done")),
                        (SCORE_FIELD, tr("Suggestion score"))):
        layer.setFieldAlias(fields.indexOf(name), alias)
    layer.setEditorWidgetSetup(fields.indexOf(DONE_FIELD), QgsEditorWidgetSetup(
        "CheckBox", {"CheckedState": "1", "UncheckedState": "0"}))
    form = layer.editFormConfig()
    for name in (TILE_ID_FIELD, SPLIT_FIELD, SCORE_FIELD):
        form.setReadOnly(fields.indexOf(name), True)
    layer.setEditFormConfig(form)
    table = layer.attributeTableConfig()
    table.update(fields)
    table.setSortExpression(f'"{SCORE_FIELD}"')
    table.setSortOrder(Qt.SortOrder.DescendingOrder)
    layer.setAttributeTableConfig(table)
