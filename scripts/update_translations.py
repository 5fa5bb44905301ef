"""Updates the plugin's translations: qgis_noisyseg/i18n/qgis_noisyseg_<language>.ts and .qm.

pylupdate5's extractor (Debian's pyqt5-dev-tools) reads every qgis_noisyseg/**/*.py into the .ts
files, keeping the translations they already hold and dropping messages the code no longer has;
lrelease (qttools5-dev-tools) compiles each .ts into its .qm. Running it twice changes nothing.

The plugin's modules translate with a module-level ``tr(text)`` that calls
``QCoreApplication.translate("<context>", text)``. pylupdate5 files such bare ``tr()`` calls under
its default context, so each module is extracted with its own ``tr``'s context as the default.

Usage: python3 scripts/update_translations.py
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Iterator, Optional

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "qgis_noisyseg"
I18N = PLUGIN / "i18n"
LANGUAGES = {"ja": "ja_JP"}
PYLUPDATE_DEFAULT_CONTEXT = "@default"

TRANSLATE_FUNCTIONS = {"translate", "QT_TRANSLATE_NOOP"}
CLASS_CONTEXT_FUNCTIONS = {"tr", "QT_TR_NOOP"}


def ts_path(language: str) -> Path:
    return I18N / f"qgis_noisyseg_{language}.ts"


def qm_path(language: str) -> Path:
    return I18N / f"qgis_noisyseg_{language}.qm"


def source_files() -> list[Path]:
    return sorted(p for p in PLUGIN.rglob("*.py") if "__pycache__" not in p.parts)


def _module_path(module: Path, node: ast.ImportFrom) -> Optional[Path]:
    base = module.parent
    for _ in range(max(node.level - 1, 0)):
        base = base.parent
    if node.level == 0:
        if not (node.module or "").startswith("qgis_noisyseg"):
            return None
        base = REPO
    target = base.joinpath(*(node.module or "").split("."))
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _literal(node: ast.AST) -> Optional[str]:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def module_context(module: Path, _seen: Optional[set] = None) -> Optional[str]:
    """The context that ``tr(text)`` in ``module`` translates in: the first literal argument of the
    ``translate(...)`` call in the module's own ``def tr``, or in the module it imports ``tr`` from.
    None when the module has no ``tr``."""
    seen = (_seen or set()) | {module}
    tree = ast.parse(module.read_text(encoding="utf-8"), str(module))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "tr":
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and _function_name(call) == "translate" and call.args:
                    context = _literal(call.args[0])
                    if context:
                        return context
            raise ValueError(f"{module}: def tr() does not call translate(\"<context>\", text)")
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == "tr" for a in node.names):
            if any(a.name == "tr" and a.asname not in (None, "tr") for a in node.names):
                raise ValueError(f"{module}: tr is imported under another name")
            source = _module_path(module, node)
            if source is None or source in seen:
                raise ValueError(f"{module}: cannot follow `from {node.module} import tr`")
            return module_context(source, seen)
    return None


def _function_name(call: ast.Call) -> Optional[str]:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def translatable_strings(module: Path) -> Iterator[tuple[str, str, int]]:
    """(context, source text, line) of every call with literal text that translates at run time:
    ``tr("…")``, ``self.tr("…")``, ``translate("context", "…")``, ``QT_TRANSLATE_NOOP("context", "…")``
    and ``QT_TR_NOOP("…")``. Python joins adjacent literals, so a message split over lines is one."""
    tree = ast.parse(module.read_text(encoding="utf-8"), str(module))
    context_of_module: Optional[str] = None
    resolved = False

    def visit(node: ast.AST, class_name: Optional[str]) -> Iterator[tuple[str, str, int]]:
        nonlocal context_of_module, resolved
        if isinstance(node, ast.ClassDef):
            class_name = node.name
        if isinstance(node, ast.Call):
            name = _function_name(node)
            if name in TRANSLATE_FUNCTIONS and len(node.args) >= 2:
                context, text = _literal(node.args[0]), _literal(node.args[1])
                if context and text:
                    yield context, text, node.lineno
            elif name in CLASS_CONTEXT_FUNCTIONS and node.args and _literal(node.args[0]):
                text = _literal(node.args[0])
                if isinstance(node.func, ast.Name) and name == "tr":
                    if not resolved:
                        context_of_module, resolved = module_context(module), True
                    if context_of_module is None:
                        raise ValueError(f"{module}:{node.lineno}: tr() is called but not defined or imported")
                    yield context_of_module, text, node.lineno
                elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                    owner = node.func.value.id
                    context = class_name if owner == "self" else owner
                    if context:
                        yield context, text, node.lineno
                elif class_name and name == "QT_TR_NOOP":
                    yield class_name, text, node.lineno
        for child in ast.iter_child_nodes(node):
            yield from visit(child, class_name)

    yield from visit(tree, None)


def code_messages() -> dict[tuple[str, str], str]:
    """Every translatable (context, text) in the plugin's code, with where it first occurs."""
    messages: dict[tuple[str, str], str] = {}
    for module in source_files():
        for context, text, line in translatable_strings(module):
            messages.setdefault((context, text), f"{module.relative_to(REPO)}:{line}")
    return messages


def _pylupdate():
    try:
        from PyQt5 import pylupdate
    except ImportError as exc:
        sys.exit(f"pylupdate5 is missing ({exc}): apt-get install pyqt5-dev-tools")
    return pylupdate


def _lrelease() -> str:
    for candidate in ("lrelease", "/usr/lib/qt5/bin/lrelease", "/usr/lib/x86_64-linux-gnu/qt5/bin/lrelease"):
        found = shutil.which(candidate)
        if found:
            return found
    sys.exit("lrelease is missing: apt-get install qttools5-dev-tools")


def extract(ts: Path, language: str) -> bool:
    """Merges the code's messages into ``ts`` (created if missing). True when the file changed."""
    pylupdate = _pylupdate()
    fetched = pylupdate.MetaTranslator()
    for module in source_files():
        context = module_context(module) or PYLUPDATE_DEFAULT_CONTEXT
        pylupdate.fetchtr_py(os.fsencode(module), fetched, context, True, "", None, None)
    before = ts.read_bytes() if ts.is_file() else None
    existing, merged = pylupdate.MetaTranslator(), pylupdate.MetaTranslator()
    if before is not None:
        existing.load(str(ts))
    pylupdate.merge(existing, fetched, merged, True, False, str(ts))
    merged.stripObsoleteMessages()
    merged.stripEmptyContexts()
    ts.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        written = Path(tmp) / ts.name
        if not merged.save(str(written)):
            sys.exit(f"pylupdate5 could not write {written}")
        text = written.read_text(encoding="utf-8")
        # pylupdate5 writes locations relative to the file it saves (here in the temporary
        # folder); make them relative to the .ts, and without line numbers, so that editing code
        # moves no line of the .ts.
        text = re.sub(r'<location filename="([^"]+)" line="\d+"/>',
                      lambda m: f'<location filename="{_relative_to_ts(m.group(1), ts, written.parent)}"/>', text)
    text = re.sub(r'<TS version="([^"]+)"[^>]*>', rf'<TS version="\1" language="{LANGUAGES[language]}" '
                  r'sourcelanguage="en">', text, count=1)
    after = text.encode("utf-8")
    if after != before:
        ts.write_bytes(after)
    return after != before


def _relative_to_ts(filename: str, ts: Path, base: Path) -> str:
    path = Path(filename)
    if not path.is_absolute():
        path = base / path
    return Path(os.path.relpath(path.resolve(), ts.parent)).as_posix()


def compile_qm(ts: Path, qm: Path) -> bytes:
    """The .qm that lrelease makes of ``ts``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / qm.name
        result = subprocess.run([_lrelease(), "-silent", "-nounfinished", str(ts), "-qm", str(out)],
                                capture_output=True, text=True)
        if result.returncode != 0 or not out.is_file():
            sys.exit(f"lrelease failed on {ts}: {result.stderr.strip() or result.stdout.strip()}")
        return out.read_bytes()


def release(ts: Path, qm: Path) -> bool:
    """Compiles ``ts`` into ``qm``. True when the .qm changed."""
    compiled = compile_qm(ts, qm)
    if qm.is_file() and qm.read_bytes() == compiled:
        return False
    qm.write_bytes(compiled)
    return True


def ts_messages(ts: Path) -> dict[tuple[str, str], Optional[str]]:
    """(context, source) -> translation of every message in ``ts``; None where it is unfinished."""
    messages = {}
    for context in ElementTree.parse(ts).getroot().iter("context"):
        for message in context.iter("message"):
            translation = message.find("translation")
            finished = translation is not None and translation.get("type") is None and (translation.text or "").strip()
            messages[(context.findtext("name"), message.findtext("source"))] = translation.text if finished else None
    return messages


def main() -> int:
    in_code = code_messages()
    for language in LANGUAGES:
        ts, qm = ts_path(language), qm_path(language)
        ts_changed = extract(ts, language)
        qm_changed = release(ts, qm)
        messages = ts_messages(ts)
        untranslated = [key for key, translation in messages.items() if translation is None]
        print(f"{ts.relative_to(REPO)}: {'updated' if ts_changed else 'unchanged'}, {len(messages)} messages, "
              f"{len(untranslated)} untranslated; {qm.relative_to(REPO)}: {'rebuilt' if qm_changed else 'unchanged'}")
        for context, source in untranslated:
            print(f"  untranslated: {context}: {source!r}")
        for (context, source), where in in_code.items():
            if (context, source) not in messages:
                print(f"  pylupdate5 did not read {where} ({context}: {source[:60]!r}): it reads only plain "
                      "literal arguments, e.g. QT_TRANSLATE_NOOP(\"Context\", \"part one \" \"part two\") "
                      "without parentheses around the parts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
