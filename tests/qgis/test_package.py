"""`make package`: the zip installs as a QGIS plugin."""

from __future__ import annotations

import sys
import zipfile

import qgis.utils

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import package_plugin  # noqa: E402


def test_the_zip_is_a_loadable_plugin(qgis_app, tmp_path):
    archive = package_plugin.build(tmp_path / "dist")
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert all(name.startswith("qgis_noisyseg/") for name in names)
        assert "qgis_noisyseg/metadata.txt" in names and "qgis_noisyseg/icon.png" in names
        assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
        assert b"qgisMinimumVersion=3.22" in zipped.read("qgis_noisyseg/metadata.txt")
        assert zipped.read("qgis_noisyseg/requirements.txt") == (REPO / "requirements.txt").read_bytes()
        zipped.extractall(tmp_path / "plugins")
    qgis.utils.plugin_paths.insert(0, str(tmp_path / "plugins"))
    try:
        qgis.utils.updateAvailablePlugins()
        assert qgis.utils.pluginMetadata("qgis_noisyseg", "hasProcessingProvider") == "yes"
        assert (tmp_path / "plugins" / "qgis_noisyseg" / "__init__.py").is_file()
    finally:
        qgis.utils.plugin_paths.remove(str(tmp_path / "plugins"))
        qgis.utils.updateAvailablePlugins()
