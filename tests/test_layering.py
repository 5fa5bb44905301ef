"""The import rule, enforced by walking the package's imports (docs/architecture.md):

- ``spec/`` uses the standard library only;
- ``bridge/`` uses ``spec/`` (and QGIS);
- ``gui/``, ``processing/`` and the plugin import only ``spec/``, ``bridge/`` and ``core.classes``
  (besides themselves; ``gui/`` and ``processing/`` not each other), plus ``core.check_tiles``,
  ``core.metrics``, ``core.dataset`` and ``core.errors`` (numpy only at import time: drawing check
  tiles, the bootstrap of their scores, the dataset's manifest and its one-line errors),
  so nothing the QGIS side loads can reach torch, rasterio or the backend;
- the backend never imports the QGIS side (bridge.process, standard library only, excepted).

tests/qgis/test_plugin_smoke.py keeps checking, at run time, that QGIS never loads torch.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "qgis_noisyseg"
QGIS_SIDE = ("qgis_noisyseg.gui", "qgis_noisyseg.processing", "qgis_noisyseg.plugin", "qgis_noisyseg.translation")
# The core modules the QGIS side may use: the standard library and numpy only (numpy ships with QGIS).
CORE_FOR_QGIS = ("qgis_noisyseg.core.classes", "qgis_noisyseg.core.check_tiles", "qgis_noisyseg.core.metrics",
                 "qgis_noisyseg.core.dataset", "qgis_noisyseg.core.errors")
QGIS_SIDE_MAY_IMPORT = ("qgis_noisyseg.spec", "qgis_noisyseg.bridge", *CORE_FOR_QGIS, *QGIS_SIDE)
BACKEND_SIDE = ("qgis_noisyseg.backend", "qgis_noisyseg.commands", "qgis_noisyseg.core", "qgis_noisyseg.inference",
                "qgis_noisyseg.study", "qgis_noisyseg.demo", "qgis_noisyseg.cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module_level_only: bool = False) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (function-level imports included,
    unless ``module_level_only``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = _module_level(tree) if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # ``from . import x``
    return found


def _module_level(tree: ast.Module):
    """The statements run at import time: the module's own, and those inside if/try blocks."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.If, ast.Try)):
            todo += node.body + node.orelse + getattr(node, "finalbody", []) + \
                [h for handler in getattr(node, "handlers", []) for h in handler.body]


def project_imports(path: Path) -> set[str]:
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    packages = {m for m in modules if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    return {m for m in imports_of(path) if m in modules or m in packages}


def within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


FILES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", [p for p in FILES if within(module_name(p), QGIS_SIDE)],
                         ids=lambda p: module_name(p))
def test_the_qgis_side_imports_only_spec_bridge_and_core_classes(path):
    wrong = sorted(m for m in project_imports(path) if m != "qgis_noisyseg" and not within(m, QGIS_SIDE_MAY_IMPORT))
    assert wrong == [], f"{module_name(path)} imports {wrong}"


@pytest.mark.parametrize("path", [p for p in FILES
                                  if within(module_name(p), ("qgis_noisyseg.gui", "qgis_noisyseg.processing"))],
                         ids=lambda p: module_name(p))
def test_gui_and_processing_do_not_import_each_other(path):
    """What both need of QGIS (a layer's file, rendering a layer, writing an AOI, a tile's
    polygon) is in bridge/; only the plugin, which starts both, imports the two."""
    own = "qgis_noisyseg.gui" if within(module_name(path), ("qgis_noisyseg.gui",)) else "qgis_noisyseg.processing"
    other = {"qgis_noisyseg.gui": "qgis_noisyseg.processing", "qgis_noisyseg.processing": "qgis_noisyseg.gui"}[own]
    wrong = sorted(m for m in project_imports(path) if within(m, (other,)))
    assert wrong == [], f"{module_name(path)} imports {wrong}"


@pytest.mark.parametrize("path", [p for p in FILES if within(module_name(p), ("qgis_noisyseg.bridge",))],
                         ids=lambda p: module_name(p))
def test_the_bridge_imports_only_spec(path):
    wrong = sorted(m for m in project_imports(path) if not within(m, ("qgis_noisyseg.spec", "qgis_noisyseg.bridge")))
    assert wrong == [], f"{module_name(path)} imports {wrong}"


@pytest.mark.parametrize("path", [p for p in FILES if within(module_name(p), ("qgis_noisyseg.spec",))],
                         ids=lambda p: module_name(p))
def test_the_spec_needs_only_the_standard_library(path):
    outside = sorted(m for m in imports_of(path) if not within(m, ("qgis_noisyseg.spec",))
                     and m.split(".")[0] not in sys.stdlib_module_names and m != "__future__")
    assert outside == [], f"{module_name(path)} imports {outside}"


@pytest.mark.parametrize("path", [p for p in FILES if within(module_name(p), BACKEND_SIDE)],
                         ids=lambda p: module_name(p))
def test_the_backend_never_imports_the_qgis_side(path):
    """bridge.process (standard library and spec/ only) is the one exception: the demo runs its
    QGIS project script through it."""
    wrong = sorted(m for m in imports_of(path) if (within(m, (*QGIS_SIDE, "qgis_noisyseg.bridge"))
                                                   and not within(m, ("qgis_noisyseg.bridge.process",))
                                                   and m != "qgis_noisyseg.bridge")
                   or m.split(".")[0] == "qgis")
    assert wrong == [], f"{module_name(path)} imports {wrong}"


def path_of(module: str) -> Path:
    base = PACKAGE.parent / module.replace(".", "/")
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


@pytest.mark.parametrize("start", CORE_FOR_QGIS)
def test_the_core_modules_qgis_uses_need_only_the_standard_library_and_numpy(start):
    """The core modules the QGIS side may import, and the core modules they import in turn
    (errors, atomic writes, output plans): nothing of the backend, and no third-party package
    but numpy at import time (core.outputs opens a GeoTIFF or an ONNX file it is asked about lazily)."""
    closure, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module in closure or not path_of(module).exists():
            continue
        closure.add(module)
        todo += [m for m in project_imports(path_of(module)) if m != "qgis_noisyseg"]
    assert all(within(m, ("qgis_noisyseg.core", "qgis_noisyseg.spec")) for m in closure), sorted(closure)
    for module in closure:
        outside = sorted(m for m in imports_of(path_of(module), module_level_only=True)
                         if m.split(".")[0] not in (*sys.stdlib_module_names, "numpy")
                         and m != "__future__" and not m.startswith("qgis_noisyseg"))
        assert outside == [], f"{module} imports {outside}"


@pytest.mark.parametrize("module", CORE_FOR_QGIS)
def test_importing_a_core_module_qgis_uses_loads_neither_rasterio_nor_torch(module):
    """At run time, in a fresh interpreter (rasterio and torch are installed here): the static
    walk above could miss an import made by a name the walker does not see."""
    code = (f"import sys, {module}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rasterio', 'torch', 'osgeo')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_walk_sees_relative_and_function_level_imports():
    """The walker itself: gui/backend.py imports bridge.process at module level, and the plugin
    imports the Processing provider inside a method."""
    assert "qgis_noisyseg.bridge.process" in project_imports(PACKAGE / "gui" / "backend.py")
    assert any(m.startswith("qgis_noisyseg.processing") for m in project_imports(PACKAGE / "plugin.py"))
