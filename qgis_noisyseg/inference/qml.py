"""QGIS 3 layer styles (.qml) for the prediction rasters.

QGIS loads ``<name>.qml`` beside ``<name>.tif`` as the layer's default style, so the class
raster opens with class names and colours, and the confidence raster with a red-to-green ramp.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import Iterable

from ..core.outputs import STYLE_COMMENT

QGIS_VERSION = "3.22.0"
# Low confidence red, high green (ColorBrewer RdYlGn end points and middle).
_CONFIDENCE_RAMP = ("#d7191c", "#ffffbf", "#1a9641")


def write_class_qml(path: "str | os.PathLike", classes: Iterable[dict]) -> None:
    """A paletted renderer: one entry per class (value = class id, colour, label = name, and
    an optional ``alpha``, 255 when absent)."""
    renderer = _renderer("paletted")
    palette = ET.SubElement(renderer, "colorPalette")
    for cls in classes:
        ET.SubElement(palette, "paletteEntry", value=str(cls["id"]), color=cls["color"],
                      label=cls["name"], alpha=str(cls.get("alpha", 255)))
    _write(path, renderer)


def write_confidence_qml(path: "str | os.PathLike", maximum: float) -> None:
    """A pseudocolour ramp from 0 (red) to ``maximum`` (green): 100 for percent, 1 for fractions."""
    renderer = _renderer("singlebandpseudocolor", classificationMin=_number(0),
                         classificationMax=_number(maximum))
    shader = ET.SubElement(ET.SubElement(renderer, "rastershader"), "colorrampshader",
                           colorRampType="INTERPOLATED", classificationMode="1", clip="0",
                           minimumValue=_number(0), maximumValue=_number(maximum))
    for step, color in enumerate(_CONFIDENCE_RAMP):
        value = maximum * step / (len(_CONFIDENCE_RAMP) - 1)
        ET.SubElement(shader, "item", value=_number(value), color=color, label=_number(value), alpha="255")
    _write(path, renderer)


def _renderer(kind: str, **attributes: str) -> ET.Element:
    return ET.Element("rasterrenderer", type=kind, band="1", opacity="1", alphaBand="-1",
                      nodataColor="", **attributes)


def _write(path: "str | os.PathLike", renderer: ET.Element) -> None:
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories")
    pipe = ET.SubElement(root, "pipe")
    pipe.append(renderer)
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", colorizeOn="0", grayscaleMode="0",
                  colorizeStrength="100", colorizeRed="255", colorizeGreen="128", colorizeBlue="128")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    ET.SubElement(root, "blendMode").text = "0"
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n")
        stream.write(f"<!-- {STYLE_COMMENT} -->\n")
        stream.write(body + "\n")


def _number(value: float) -> str:
    return f"{value:g}"
