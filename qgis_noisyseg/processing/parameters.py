"""Processing parameters derived from a command's spec (qgis_noisyseg/spec/commands.py).

``parameter(option, name)`` builds the QgsProcessingParameter for one option: its widget from
the option's type and kind, its default, bounds, choices, whether it is optional and advanced,
and its description from the option's label. Bounds Processing cannot express (a multiple of 32,
an exclusive bound) are checked by :func:`check`, before the backend starts.
"""

from __future__ import annotations

from typing import Any, Optional

from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterDefinition,
                       QgsProcessingParameterEnum, QgsProcessingParameterExtent, QgsProcessingParameterField,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterMapLayer, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString,
                       QgsProcessingParameterVectorDestination, QgsProcessingParameterVectorLayer)
from qgis.PyQt.QtCore import QCoreApplication

from ..spec.fields import Option, SpecError

INTEGER = QgsProcessingParameterNumber.Type.Integer
DOUBLE = QgsProcessingParameterNumber.Type.Double


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySeg", text)


def parameter(option: Option, name: Optional[str] = None, description: Optional[str] = None,
              optional: Optional[bool] = None, parent: Optional[str] = None) -> QgsProcessingParameterDefinition:
    """The parameter for ``option``. ``optional`` defaults to: not required by the command."""
    name = name or option.parameter
    text = tr(description or option.label or option.help)
    optional = (not option.required) if optional is None else optional
    default = option.default
    kind = option.kind
    if option.type is bool:
        made = QgsProcessingParameterBoolean(name, text, bool(default), optional)
    elif option.choices:
        made = QgsProcessingParameterEnum(name, text, list(option.choices), False, default, optional, True)
    elif kind == "folder":
        made = QgsProcessingParameterFile(name, text, QgsProcessingParameterFile.Behavior.Folder, optional=optional)
    elif kind == "file":
        made = QgsProcessingParameterFile(name, text, extension=option.extension, optional=optional)
    elif kind == "folder-out":
        made = QgsProcessingParameterFolderDestination(name, text, optional=optional)
    elif kind == "file-out":
        file_filter = f"{option.extension.upper()} (*.{option.extension})" if option.extension else ""
        made = QgsProcessingParameterFileDestination(name, text, file_filter, optional=optional,
                                                     createByDefault=not optional)
    elif kind == "raster-out":
        made = QgsProcessingParameterRasterDestination(name, text, optional=optional,
                                                       createByDefault=not optional)
    elif kind == "raster":
        made = QgsProcessingParameterRasterLayer(name, text, optional=optional)
    elif kind == "layer":
        made = QgsProcessingParameterMapLayer(name, text, optional=optional)
    elif kind == "layers":
        made = QgsProcessingParameterMultipleLayers(name, text, QgsProcessing.SourceType.TypeMapLayer,
                                                    optional=optional)
    elif kind == "field":
        made = QgsProcessingParameterField(name, text, None, parent, optional=optional)
    elif kind == "aoi":
        made = QgsProcessingParameterVectorLayer(name, text, [QgsProcessing.SourceType.TypeVectorPolygon],
                                                 optional=optional)
    elif kind == "vector-out":
        made = QgsProcessingParameterVectorDestination(name, text, QgsProcessing.SourceType.TypeVectorPolygon,
                                                       optional=optional, createByDefault=not optional)
    elif kind == "extent":
        made = QgsProcessingParameterExtent(name, text, optional=optional)
    elif option.type in (int, float):
        made = QgsProcessingParameterNumber(name, text, INTEGER if option.type is int else DOUBLE, default, optional)
        low = option.minimum if option.minimum is not None else option.above
        high = option.maximum if option.maximum is not None else option.below
        if low is not None:
            made.setMinimum(low)
        if high is not None:
            made.setMaximum(high)
    else:
        made = QgsProcessingParameterString(name, text, default, False, optional)
    if option.advanced:
        made.setFlags(made.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
    return made


def check(option: Option, value: Any) -> Optional[str]:
    """The backend's one-line message for a value the option refuses, or None."""
    try:
        option.check(value)
    except SpecError as exc:
        return str(exc)
    return None
