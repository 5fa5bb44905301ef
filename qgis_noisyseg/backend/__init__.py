"""torch backend; runs in its own process, never inside QGIS."""
