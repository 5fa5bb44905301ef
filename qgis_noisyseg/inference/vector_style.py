"""QGIS styles for the vector outputs, stored in the GeoPackage as QGIS stores them.

QGIS keeps a layer's saved styles in a ``layer_styles`` table of the GeoPackage (one row per
style, ``useAsDefault`` marking the one it applies when the layer is opened). The table is
written here through GDAL as an attribute table, so it is registered in ``gpkg_contents`` as
QGIS's own is. The styles are QGIS 3 QML: a categorized renderer with one simple fill per
category.
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
import xml.etree.ElementTree as ET
from typing import Iterable, Sequence

import numpy as np
import pyogrio

from ..core.classes import hex_to_rgb
from ..core.outputs import STYLE_COMMENT

QGIS_VERSION = "3.22.0"
STYLE_TABLE = "layer_styles"
STYLE_FIELDS = ["f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
                "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time"]


def categorized_qml(attribute: str, categories: Iterable[dict], outline: str = "#232323",
                    fill_alpha: int = 255) -> str:
    """A categorized renderer on ``attribute``: each category (``id`` = the value, ``name``,
    ``color``, optional ``alpha`` and ``outline``) a simple fill."""
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories")
    renderer = ET.SubElement(root, "renderer-v2", type="categorizedSymbol", attr=attribute, forceraster="0",
                             symbollevels="0", enableorderby="0")
    listed = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for number, category in enumerate(categories):
        ET.SubElement(listed, "category", value=str(category["id"]), label=category["name"], symbol=str(number),
                      render="true")
        symbol = ET.SubElement(symbols, "symbol", type="fill", name=str(number), alpha="1", clip_to_extent="1",
                               force_rhr="0")
        layer = ET.SubElement(symbol, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
        r, g, b = hex_to_rgb(category["color"])
        edge = hex_to_rgb(category.get("outline", outline))
        alpha = category.get("alpha", fill_alpha)
        for key, value in (("color", f"{r},{g},{b},{alpha}"), ("outline_color", f"{edge[0]},{edge[1]},{edge[2]},255"),
                           ("outline_style", "solid"), ("outline_width", str(category.get("width", 0.26))),
                           ("outline_width_unit", "MM"), ("style", "solid" if alpha else "no"),
                           ("joinstyle", "bevel")):
            ET.SubElement(layer, "prop", k=key, v=value)
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerOpacity").text = "1"
    ET.indent(root)
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f"<!-- {STYLE_COMMENT} -->\n" + ET.tostring(root, encoding="unicode") + "\n")


def write_layer_style(gpkg: "str | os.PathLike", layer: str, qml: str, name: str, geometry_column: str = "geom",
                      description: str = "") -> None:
    """Stores ``qml`` as the default style of ``layer`` in the GeoPackage ``gpkg``."""
    values: Sequence = ("", "", layer, geometry_column, name, qml, "", True, description or name,
                        "qgis_noisyseg", "", _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None))
    field_data = [np.asarray([value], dtype=object) for value in values]
    field_data[7] = np.asarray([True], dtype=bool)
    field_data[11] = np.asarray([values[11]], dtype="datetime64[ms]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.raw.write(str(gpkg), None, field_data, STYLE_FIELDS, layer=STYLE_TABLE, driver="GPKG",
                          geometry_type=None, encoding="UTF-8", append=STYLE_TABLE in _layers(gpkg))  # an existing file


def default_style(gpkg: "str | os.PathLike", layer: str) -> str | None:
    """The QML of ``layer``'s default style in ``gpkg``, or None."""
    if STYLE_TABLE not in _layers(gpkg):
        return None
    _, _, _, field_data = pyogrio.raw.read(str(gpkg), layer=STYLE_TABLE, read_geometry=False,
                                           columns=["f_table_name", "styleQML", "useAsDefault"])
    for table, qml, default in zip(*field_data):
        if table == layer and default:
            return qml
    return None


def _layers(gpkg) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [str(name) for name, _ in pyogrio.list_layers(str(gpkg))]
