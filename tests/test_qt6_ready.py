"""Ready for QGIS 4 / Qt6 (issue 15): the plugin's Python files use scoped enums and no Qt5-only API.

PyQt6 drops unscoped enum access (``Qt.UserRole`` must be ``Qt.ItemDataRole.UserRole``) and a few
Qt5-only names (``exec_``, ``QRegExp``, ``QAction`` in QtWidgets, ...). The scoped forms already work
on PyQt5 5.15 and QGIS 3.22, so the plugin uses them everywhere. This test reads the source with
``ast`` (no QGIS, no Qt needed) so that it stays that way, and checks the scanner itself on planted
examples. ``tests/qgis/test_qt6_scoped_names.py`` checks that every scoped name resolves in QGIS 3.22.
"""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "qgis_noisyseg"

# Modules whose names are Qt or QGIS classes (from X import Name, or import X as alias).
QT_QGIS_MODULE = re.compile(r"^(qgis\.PyQt(\.\w+)?|PyQt[56](\.\w+)?|qgis\.(core|gui|analysis|_3d|processing))$")
MODULE_ALIASES = {"QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtXml", "QtSql", "QtSvg", "QtTest", "QtPrintSupport"}
# Qgis.QGIS_VERSION and the like are constants, not enum members.
CONSTANT = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
# Nested classes (not enums) referred to without a call: QgsRuleBasedRenderer.Rule, ...
NESTED_CLASSES = {"Rule", "ColorRampItem", "LayerDetails", "Category", "Range"}

REMOVED_NAMES = {
    "QRegExp": "QRegularExpression", "QRegExpValidator": "QRegularExpressionValidator",
    "QDesktopWidget": "QScreen (QWidget.screen() / QGuiApplication.screens())", "QString": "str",
    "QStringList": "list", "QTextCodec": "Python's codecs", "QStringRef": "str", "QMatrix": "QTransform",
    "QGLWidget": "QOpenGLWidget", "SIGNAL": "new-style signals", "SLOT": "new-style signals",
    "qApp": "QApplication.instance()",
}
RENAMED_MEMBERS = {
    "MidButton": "Qt.MouseButton.MiddleButton", "TextColorRole": "Qt.ItemDataRole.ForegroundRole",
    "BackgroundColorRole": "Qt.ItemDataRole.BackgroundRole", "HighQualityAntialiasing": "QPainter.RenderHint.Antialiasing",
}
MOVED_TO_QTGUI = {"QAction", "QActionGroup", "QShortcut", "QUndoCommand", "QUndoGroup", "QUndoStack", "QFileSystemModel"}
SIGNAL_OVERLOADS = {"activated", "currentIndexChanged", "highlighted"}


def _qt_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names imported from Qt / QGIS modules in this file, and the Qt module aliases."""
    names, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and QT_QGIS_MODULE.match(node.module):
            for alias in node.names:
                (modules if alias.name in MODULE_ALIASES else names).add(alias.asname or alias.name)
    return names, modules


def _chain(node: ast.AST) -> list[str]:
    """``a.b.c`` -> ["a", "b", "c"]; [] when the root is not a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else []


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def unscoped_enums(source: str) -> list[tuple[int, str]]:
    """(line, "Class.Member") for every ``Class.Member`` of a Qt or QGIS class imported in ``source``
    where Member looks like an enum value: capitalised, the end of the attribute chain (so not
    ``Class.Enum.Member``), not called (nested classes), not a constant."""
    tree = ast.parse(source)
    names, modules = _qt_names(tree)
    parents = _parents(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            continue  # only whole chains
        if isinstance(parent, ast.Call) and parent.func is node:
            continue  # QgsRuleBasedRenderer.Rule(...), static methods
        chain = _chain(node)
        if chain and chain[0] in modules:
            chain = chain[1:]  # QtCore.Qt.Checked
        if len(chain) != 2 or chain[0] not in names:
            continue
        member = chain[1]
        if member[0].isupper() and not CONSTANT.match(member) and member not in NESTED_CLASSES:
            found.append((node.lineno, ".".join(chain)))
    return sorted(found)


def qt5_only(source: str) -> list[tuple[int, str]]:
    """(line, what to use instead) for every Qt5-only name or call in ``source``."""
    tree = ast.parse(source)
    parents = _parents(tree)
    found = []

    def fallback_import(node: ast.ImportFrom, name: str) -> bool:
        """``try: from qgis.PyQt.QtGui import QAction`` / ``except ImportError: from ...QtWidgets import QAction``."""
        handler = parents.get(node)
        try_node = parents.get(handler)
        return (isinstance(handler, ast.ExceptHandler) and isinstance(try_node, ast.Try)
                and any(isinstance(n, ast.ImportFrom) and (n.module or "").endswith("QtGui")
                        and name in {a.name for a in n.names} for n in try_node.body))

    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and node.attr == "exec_":
            found.append((line, "exec_() -> exec()"))
        elif isinstance(node, ast.FunctionDef) and node.name == "exec_":
            found.append((line, "def exec_ -> def exec"))
        elif isinstance(node, ast.Name) and node.id in REMOVED_NAMES:
            found.append((line, f"{node.id} -> {REMOVED_NAMES[node.id]}"))
        elif isinstance(node, ast.ImportFrom):
            found += [(line, f"{a.name} -> {REMOVED_NAMES[a.name]}") for a in node.names if a.name in REMOVED_NAMES]
        elif isinstance(node, ast.Attribute) and node.attr in RENAMED_MEMBERS:
            found.append((line, f"{node.attr} -> {RENAMED_MEMBERS[node.attr]}"))
        elif isinstance(node, ast.Attribute) and _chain(node)[:1] == ["QVariant"] and node.attr[0].isupper():
            found.append((line, f"QVariant.{node.attr} -> QMetaType.Type (QGIS 4 field types)"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func, target = node.func, node.func.value
            if func.attr == "desktop" and not node.args:
                found.append((line, "QApplication.desktop() -> QScreen"))
            elif func.attr == "setMargin":
                found.append((line, "setMargin() -> setContentsMargins()"))
        if (isinstance(node, ast.Attribute) and node.attr == "width" and isinstance(node.value, ast.Call)
                and ((isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "fontMetrics")
                     or (isinstance(node.value.func, ast.Name) and node.value.func.id in ("QFontMetrics", "QFontMetricsF")))):
            found.append((line, "QFontMetrics.width() -> horizontalAdvance()"))
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr in SIGNAL_OVERLOADS and isinstance(node.slice, ast.Name)):
            found.append((line, f"{node.value.attr}[{node.slice.id}] -> the signal without an overload"))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] == "PyQt5":
                    found.append((line, f"{module} -> qgis.PyQt"))
                elif module == "qgis.PyQt.Qt":
                    found.append((line, "qgis.PyQt.Qt -> qgis.PyQt.QtCore"))
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("QtWidgets"):
                for alias in node.names:
                    if alias.name in MOVED_TO_QTGUI and not fallback_import(node, alias.name):
                        found.append((line, f"{alias.name} is in QtGui in Qt6: try QtGui, except ImportError QtWidgets"))
    return sorted(set(found))


def plugin_files() -> list[Path]:
    return sorted(p for p in PLUGIN.rglob("*.py") if "__pycache__" not in p.parts)


def _report(findings: dict[Path, list[tuple[int, str]]]) -> str:
    return "\n".join(f"{path.relative_to(REPO)}:{line}: {what}" for path, items in findings.items() for line, what in items)


# --- the scanner, on planted examples -----------------------------------------------------------

PLANTED = """
from qgis.PyQt.QtCore import Qt
from qgis.PyQt import QtCore
from qgis.PyQt.QtWidgets import QMessageBox, QSizePolicy
from qgis.core import Qgis, QgsRuleBasedRenderer, QgsProcessingUtils

QM = object()  # not a Qt name

def f(item, widget):
    item.setData(Qt.UserRole, 1)                                 # 10 unscoped
    item.setCheckState(Qt.CheckState.Checked)                     # scoped: fine
    widget.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Policy.Preferred)  # 12: one unscoped
    if QMessageBox.question(widget, "t", "q") == QMessageBox.Yes:  # 13 unscoped (question() is a method)
        pass
    level = Qgis.Warning                                          # 15 unscoped QGIS enum
    rule = QgsRuleBasedRenderer.Rule(None)                        # nested class: fine
    hint = QgsProcessingUtils.LayerHint.Raster                    # scoped: fine
    version = Qgis.QGIS_VERSION                                   # constant: fine
    flag = QtCore.Qt.AlignLeft                                    # 19 unscoped through the module
    other = QM.Upper                                              # not imported from Qt: fine
    return Qt.ItemDataRole, Qt.MidButton                          # 21: both (a bare enum type looks the same)
"""

PLANTED_QT5 = """
from qgis.PyQt.QtWidgets import QAction, QDialog
from qgis.PyQt.QtCore import QRegExp, QVariant
try:
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction
from PyQt5.QtCore import Qt

def f(dialog, layout, combo, widget):
    dialog.exec_()
    layout.setMargin(0)
    combo.activated[str].connect(print)
    width = widget.fontMetrics().width("text")
    field_type = QVariant.Int
    screen = QApplication.desktop()
    dialog.exec()
"""


def test_the_scanner_finds_planted_unscoped_enums():
    found = unscoped_enums(PLANTED)
    assert found == [(10, "Qt.UserRole"), (12, "QSizePolicy.Expanding"), (13, "QMessageBox.Yes"),
                     (15, "Qgis.Warning"), (19, "Qt.AlignLeft"), (21, "Qt.ItemDataRole"), (21, "Qt.MidButton")]


def test_the_scanner_passes_the_scoped_version_of_the_planted_example():
    scoped = (PLANTED.replace("Qt.UserRole", "Qt.ItemDataRole.UserRole")
              .replace("QSizePolicy.Expanding", "QSizePolicy.Policy.Expanding")
              .replace("QMessageBox.Yes", "QMessageBox.StandardButton.Yes")
              .replace("Qgis.Warning", "Qgis.MessageLevel.Warning")
              .replace("QtCore.Qt.AlignLeft", "QtCore.Qt.AlignmentFlag.AlignLeft")
              .replace("return Qt.ItemDataRole, Qt.MidButton", "return Qt.ItemDataRole.DisplayRole"))
    assert unscoped_enums(scoped) == []


def test_the_scanner_finds_planted_qt5_only_api():
    found = qt5_only(PLANTED_QT5)
    lines = [line for line, _ in found]
    assert lines == [2, 3, 8, 11, 12, 13, 14, 15, 16], found
    assert "QAction" in dict(found)[2] and "QRegularExpression" in " ".join(w for l, w in found if l == 3)
    assert qt5_only("try:\n    from qgis.PyQt.QtGui import QAction\nexcept ImportError:\n"
                    "    from qgis.PyQt.QtWidgets import QAction\nd.exec()\n") == []


# --- the plugin ---------------------------------------------------------------------------------

def test_the_scan_covers_the_plugin_s_qt_code():
    files = {p.relative_to(PLUGIN).as_posix() for p in plugin_files()}
    for expected in ("plugin.py", "translation.py", "gui/panel.py", "gui/demo_project.py", "gui/steps/data.py",
                     "processing/algorithms.py"):
        assert expected in files
    # And it sees the scoped names there (a scanner that parses nothing would pass the tests below).
    data = (PLUGIN / "gui" / "steps" / "data.py").read_text(encoding="utf-8")
    assert "Qt.CheckState.Checked" in data and unscoped_enums(data.replace("Qt.CheckState.Checked", "Qt.Checked"))


def test_the_plugin_uses_scoped_enums_only():
    findings = {p: unscoped_enums(p.read_text(encoding="utf-8")) for p in plugin_files()}
    findings = {p: f for p, f in findings.items() if f}
    assert not findings, "unscoped Qt/QGIS enums (PyQt6 needs Class.Enum.Member):\n" + _report(findings)


def test_the_plugin_uses_no_qt5_only_api():
    findings = {p: qt5_only(p.read_text(encoding="utf-8")) for p in plugin_files()}
    findings = {p: f for p, f in findings.items() if f}
    assert not findings, "Qt5-only API:\n" + _report(findings)


def test_metadata_declares_qt6_support():
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read(REPO / "metadata.txt", encoding="utf-8")
    general = metadata["general"]
    assert general.get("supportsQt6") == "True"
    assert general.get("qgisMinimumVersion") == "3.22"
    assert general.get("qgisMaximumVersion") == "4.99"


if __name__ == "__main__":  # python tests/test_qt6_ready.py: the findings, for a migration
    for path in plugin_files():
        source = path.read_text(encoding="utf-8")
        for line, what in unscoped_enums(source) + qt5_only(source):
            print(f"{path.relative_to(REPO)}:{line}: {what}")
