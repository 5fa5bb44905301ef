"""qgis_noisyseg: turn the maps you already have into a segmentation model for your imagery.

This module is QGIS's entry point. It must stay import-light: QGIS imports it at start-up,
and torch must never be imported into QGIS's process.
"""

__version__ = "0.1.0"


def classFactory(iface):  # noqa: N802 (QGIS's name)
    """QGIS calls this to create the plugin instance."""
    from .plugin import NoisySegPlugin

    return NoisySegPlugin(iface)
