"""Map layers <-> files the backend reads, and adding the backend's outputs to the project."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from qgis.core import QgsLayerTreeGroup, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication

from ..bridge.layers import NotAFileLayer, backend_path  # noqa: F401 - the steps' names for them


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegLayers", text)


OUTPUT_PROPERTY = "noisyseg/output"  # a layer the plugin made, never offered as a label layer


def group(project: QgsProject, name: str, parent: Optional[QgsLayerTreeGroup] = None) -> QgsLayerTreeGroup:
    parent = parent or project.layerTreeRoot()
    return parent.findGroup(name) or parent.insertGroup(0, name)


def add_raster(project: QgsProject, path: str, name: str, into: QgsLayerTreeGroup, opacity: Optional[float] = None) -> QgsRasterLayer:
    """Adds a backend raster with its .qml default style (class names and colours, ramps)."""
    layer = QgsRasterLayer(path, name)
    if not layer.isValid():
        raise ValueError(tr("QGIS cannot open {}").format(path))
    layer.loadDefaultStyle()
    layer.setCustomProperty(OUTPUT_PROPERTY, True)
    if opacity is not None:
        layer.renderer().setOpacity(opacity)
    project.addMapLayer(layer, False)
    into.addLayer(layer)
    return layer


def add_vector(project: QgsProject, layer: QgsVectorLayer, into: QgsLayerTreeGroup) -> QgsVectorLayer:
    """Adds ``layer`` unless a layer of the same source is already in the project, which is returned instead."""
    for existing in project.mapLayers().values():
        if existing.source() == layer.source():
            return existing
    layer.setCustomProperty(OUTPUT_PROPERTY, True)
    project.addMapLayer(layer, False)
    into.addLayer(layer)
    return layer
