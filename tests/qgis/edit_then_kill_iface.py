"""The part of QgisInterface the panel uses, for a QGIS process started without the QGIS app
(pytest-qgis's own interface needs pytest)."""

from qgis.gui import QgsMessageBar


class Iface:
    def __init__(self, canvas, window) -> None:
        self._canvas, self._window = canvas, window
        self._bar = QgsMessageBar(window)
        self.active = None

    def mapCanvas(self):  # noqa: N802 (QGIS's name)
        return self._canvas

    def mainWindow(self):  # noqa: N802
        return self._window

    def messageBar(self):  # noqa: N802
        return self._bar

    def setActiveLayer(self, layer) -> bool:  # noqa: N802
        self.active = layer
        return True
