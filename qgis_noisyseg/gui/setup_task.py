"""Sets up the backend environment from the panel: a venv with the pinned requirements.

It runs ``python3 -m venv --system-site-packages DIR`` (so the backend sees the system's GDAL
bindings, as the Makefile does) and ``DIR/bin/python -m pip install -r requirements.txt``,
streaming their output, then points the plugin at the new Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from qgis.core import QgsSettings, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal

from .backend import PLUGIN_DIR, SETTINGS_KEY

REQUIREMENTS = [PLUGIN_DIR / "requirements.txt", PLUGIN_DIR.parent / "requirements.txt"]


def tr(text: str) -> str:
    return QCoreApplication.translate("NoisySegSetup", text)


def requirements_file() -> Optional[Path]:
    return next((path for path in REQUIREMENTS if path.is_file()), None)


def venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


class EnvironmentSetupTask(QgsTask):
    """``line`` carries each line of venv/pip output (from the worker thread, queued to the UI)."""

    line = pyqtSignal(str)

    def __init__(self, folder: Path, requirements: Optional[Path] = None, base_python: Optional[str] = None) -> None:
        super().__init__(tr("Setting up the noisyseg backend"), QgsTask.Flag.CanCancel)
        self.folder = Path(folder)
        self.requirements = requirements or requirements_file()
        self.base_python = base_python or shutil.which("python3") or sys.executable
        self.error: Optional[str] = None
        self._process: Optional[subprocess.Popen] = None

    def run(self) -> bool:
        if self.requirements is None:
            self.error = tr("requirements.txt is missing from the plugin folder {}").format(PLUGIN_DIR)
            return False
        commands = [
            [self.base_python, "-m", "venv", "--system-site-packages", str(self.folder)],
            [str(venv_python(self.folder)), "-m", "pip", "install", "--disable-pip-version-check",
             "--progress-bar", "off", "-r", str(self.requirements)],
        ]
        if venv_python(self.folder).is_file():
            commands = commands[1:]
        for number, command in enumerate(commands):
            self.setProgress(100 * number / len(commands))
            if not self._run(command):
                return False
        QgsSettings().setValue(SETTINGS_KEY, str(venv_python(self.folder)))
        self.setProgress(100)
        return True

    def _run(self, command: list[str]) -> bool:
        self.line.emit("$ " + " ".join(command))
        try:
            self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                             encoding="utf-8", errors="replace")
        except OSError as exc:
            self.error = tr("could not run {} ({})").format(command[0], exc)
            return False
        tail = []
        for text in self._process.stdout:
            text = text.rstrip()
            tail = (tail + [text])[-5:]
            self.line.emit(text)
        code = self._process.wait()
        if self.isCanceled():
            self.error = "cancelled"
            return False
        if code != 0:
            self.error = tr("{} failed (exit {}): {}").format(Path(command[0]).name, code, tail[-1] if tail else "")
            return False
        return True

    def cancel(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
        super().cancel()
