"""Fixtures shared by the real-QGIS tests: a clean project and the plugin's Processing provider."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject


@pytest.fixture
def project(qgis_app):
    project = QgsProject.instance()
    project.clear()
    yield project
    project.clear()


@pytest.fixture
def provider(qgis_iface, qgis_processing):
    """The plugin's provider, registered as QGIS registers it (initGui)."""
    import qgis_noisyseg

    plugin = qgis_noisyseg.classFactory(qgis_iface)
    plugin.initGui()
    yield plugin.provider
    plugin.unload()
