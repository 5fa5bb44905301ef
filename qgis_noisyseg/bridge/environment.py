"""Which Python runs the backend: $NOISYSEG_PYTHON, then the plugin setting, then a ``.venv``
beside the plugin (a development checkout), then python3 on PATH."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

from .process import PACKAGE_PARENT

SETTINGS_KEY = "qgis_noisyseg/backend_python"


def find_backend_python() -> Optional[str]:
    from qgis.core import QgsSettings

    candidates = [os.environ.get("NOISYSEG_PYTHON"), QgsSettings().value(SETTINGS_KEY, "", type=str),
                  str(Path(PACKAGE_PARENT) / ".venv" / "bin" / "python"), shutil.which("python3")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None
