"""PyQt5 + qgis.gui: the plugin's user interface. Never imports torch: the backend runs as a subprocess."""
