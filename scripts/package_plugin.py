"""Builds the installable QGIS plugin zip: dist/qgis_noisyseg-<version>.zip.

The zip holds one folder, qgis_noisyseg/, as QGIS's "Install from ZIP" expects, with
metadata.txt as a real file (it is a symlink to the top-level one in the repository) and
without caches. Usage: python scripts/package_plugin.py [--out dist]
"""

from __future__ import annotations

import argparse
import re
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "qgis_noisyseg"
SKIPPED_DIRS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".ts"}


def plugin_files() -> list[Path]:
    files = []
    for path in sorted(PLUGIN.rglob("*")):
        if path.is_dir() or SKIPPED_DIRS & set(path.relative_to(PLUGIN).parts) or path.suffix in SKIPPED_SUFFIXES:
            continue
        files.append(path)
    return files


def version() -> str:
    return re.search(r'^__version__ = "([^"]+)"', (PLUGIN / "__init__.py").read_text(), re.M).group(1)


def build(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"qgis_noisyseg-{version()}.zip"
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in plugin_files():
            archive.writestr(f"qgis_noisyseg/{path.relative_to(PLUGIN).as_posix()}", path.read_bytes())
        # the pins that the panel's "Set up backend" installs (gui/setup_task.py)
        archive.writestr("qgis_noisyseg/requirements.txt", (REPO / "requirements.txt").read_bytes())
    tmp.replace(target)
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "dist"))
    print(build(Path(parser.parse_args().out)))
