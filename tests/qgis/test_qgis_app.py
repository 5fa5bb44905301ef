"""Smoke test of the real QGIS application: started under xvfb-run with a fresh profile, it loads the
plugin from QGIS_PLUGINPATH, opens the panel, and saves a screenshot (qgis_app_startup.py runs inside).

NOISYSEG_UPDATE_SCREENSHOTS=1 copies the screenshot to docs/screenshots/qgis_app.png.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from qgis.PyQt.QtGui import QImage

from tests.conftest import REPO

STARTUP = Path(__file__).resolve().parent / "qgis_app_startup.py"
SCREENSHOT = REPO / "docs" / "screenshots" / "qgis_app.png"
TIMEOUT_S = 120
SCREEN = "1600x1000x24"

pytestmark = pytest.mark.skipif(not (shutil.which("xvfb-run") and shutil.which("qgis")),
                                reason="needs the qgis binary and xvfb-run (make system)")


def fresh_profile(root: Path, locale: str) -> Path:
    """--profiles-path ROOT: QGIS reads ROOT/profiles/default/QGIS/QGIS3.ini, where the plugin is enabled
    and the user interface language is set as in Settings > Options > General."""
    settings = root / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    settings.parent.mkdir(parents=True)
    settings.write_text(f"[PythonPlugins]\nqgis_noisyseg=true\n\n[locale]\noverrideFlag=true\nuserLocale={locale}\n")
    return root


def backend_python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv if venv.exists() else Path(sys.executable))


def run_qgis(profiles: Path, out: Path) -> tuple[int, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env.update(QGIS_PLUGINPATH=str(REPO), NOISYSEG_PYTHON=backend_python(), NOISYSEG_SMOKE_OUT=str(out),
               HOME=str(profiles))
    command = ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", "qgis", "--profiles-path", str(profiles),
               "--noversioncheck", "--nologo", "--code", str(STARTUP)]
    log = out / "qgis.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=profiles,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = None
    output = log.read_text(errors="replace")
    if code is None:
        pytest.fail(f"QGIS did not quit within {TIMEOUT_S} s; its output ends with:\n{output[-4000:]}")
    return code, output


@pytest.mark.parametrize("locale, dock_title", [("en_US", "Noisy labels segmentation"),
                                                ("ja", "ノイジーラベル セグメンテーション")], ids=["en", "ja"])
def test_qgis_loads_the_plugin_and_opens_the_panel(tmp_path, locale, dock_title):
    out = tmp_path / "out"
    out.mkdir()
    code, output = run_qgis(fresh_profile(tmp_path / "qgis", locale), out)
    tail = f"\nQGIS exit code {code}; its output ends with:\n{output[-4000:]}"
    assert (out / "report.json").is_file(), "the startup script wrote no report" + tail
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["problem"] is None, report["problem"] + tail
    assert not report["errors"], "Python errors in QGIS:\n" + "\n".join(report["errors"]) + tail
    assert report["plugin_class"] == "NoisySegPlugin" and report["plugin_active"], report
    assert {"noisyseg_open_panel", "noisyseg_check_environment"} <= set(report["actions"]), report["actions"]
    assert report["processing_provider"], report
    assert report["dock_visible"] and report["dock_title"] == dock_title, report
    assert report["visible_dialogs"] == [], f"a dialog is in the way: {report['visible_dialogs']}"
    assert report["tasks_still_running"] == 0, "the panel's environment check did not finish"
    assert "Python 3" in (report["environment_summary"] or ""), report["environment_summary"]
    assert report["torch_imported_in_qgis"] is False
    assert code != 75, "File > Exit did not end QGIS within 20 s" + tail
    assert code == 0, "QGIS did not exit cleanly (unloading the plugin?)" + tail

    image = QImage(str(out / "qgis_app.png"))
    assert not image.isNull() and (image.width(), image.height()) == tuple(report["window_size"])
    assert image.width() >= 1200 and image.height() >= 700
    assert len({image.pixel(x, y) for x in range(0, image.width(), 16) for y in range(0, image.height(), 16)}) > 50, \
        "the screenshot is (nearly) blank"
    if locale == "en_US" and os.environ.get("NOISYSEG_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "qgis_app.png", SCREENSHOT)
