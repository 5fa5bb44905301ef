"""Every scoped enum the plugin names (``Qt.ItemDataRole.UserRole``, ``Qgis.MessageLevel.Warning``, ...)
exists in this QGIS (3.22) and its PyQt5, and is a member of the enum it is named through.

tests/test_qt6_ready.py keeps the plugin free of unscoped enums for Qt6; this catches the opposite
mistake: a scoped name that only newer QGIS versions have (many ``Qgis.*`` enums are newer than 3.22),
which would fail only when that line runs.
"""

from __future__ import annotations

import ast
import importlib

from tests.test_qt6_ready import QT_QGIS_MODULE, REPO, _chain, _parents, plugin_files


def scoped_names(source: str) -> list[tuple[int, str, str]]:
    """(line, module, "Class.Enum.Member") for each three-part capitalised name whose class is imported
    from a Qt or QGIS module."""
    tree = ast.parse(source)
    origin = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and QT_QGIS_MODULE.match(node.module):
            origin.update({alias.asname or alias.name: (node.module, alias.name) for alias in node.names})
    parents = _parents(tree)
    found = []
    for node in ast.walk(tree):
        parent = parents.get(node)
        if not isinstance(node, ast.Attribute) or (isinstance(parent, ast.Attribute) and parent.value is node):
            continue
        chain = _chain(node)
        if len(chain) == 3 and chain[0] in origin and all(part[0].isupper() for part in chain[1:]):
            module, name = origin[chain[0]]
            found.append((node.lineno, module, ".".join([name, *chain[1:]])))
    return found


def unresolved(source: str) -> tuple[int, list[str]]:
    """How many scoped names ``source`` has, and those that do not resolve here to a member of their enum."""
    names, missing = scoped_names(source), []
    for line, module, dotted in names:
        cls_name, enum_name, member = dotted.split(".")
        try:
            enum = getattr(getattr(importlib.import_module(module), cls_name), enum_name)
            value = getattr(enum, member)
        except AttributeError as exc:
            missing.append(f"{line}: {dotted} ({exc})")
            continue
        if not isinstance(value, enum):
            missing.append(f"{line}: {dotted} is not a member of {cls_name}.{enum_name}")
    return len(names), missing


def test_every_scoped_enum_of_the_plugin_exists_in_this_qgis(qgis_app):
    checked, missing = 0, []
    for path in plugin_files():
        count, problems = unresolved(path.read_text(encoding="utf-8"))
        checked += count
        missing += [f"{path.relative_to(REPO)}:{problem}" for problem in problems]
    assert not missing, "\n".join(missing)
    assert checked >= 80, checked  # the plugin names about 90; a scan that finds none must not pass


def test_a_scoped_name_this_qgis_lacks_is_caught(qgis_app):
    from qgis.core import Qgis

    source = """from qgis.core import Qgis, QgsWkbTypes
from qgis.PyQt.QtCore import Qt
fine = Qt.CheckState.Checked, QgsWkbTypes.GeometryType.PolygonGeometry, Qgis.MessageLevel.Warning
typo = Qgis.MessageLevel.Catastrophic
newer = Qgis.GeometryType.Polygon  # QGIS 3.30
"""
    count, missing = unresolved(source)
    assert count == 5
    expected = ["4: Qgis.MessageLevel.Catastrophic"] + (["5: Qgis.GeometryType.Polygon"] if Qgis.QGIS_VERSION_INT < 33000 else [])
    assert [problem.split(" (")[0] for problem in missing] == expected, missing
