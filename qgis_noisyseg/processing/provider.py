"""The Processing provider ``noisyseg``: the backend's commands in the toolbox and qgis_process."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import ALGORITHMS, ICON
from .runner import tr
from .suggest_algorithm import SuggestAlgorithm
from .vector_algorithms import VECTOR_ALGORITHMS

# Every algorithm of the provider, one per command that has one (tests/qgis/test_parity.py reads it).
ALL_ALGORITHMS = ALGORITHMS + VECTOR_ALGORITHMS + (SuggestAlgorithm,)


class NoisySegProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "noisyseg"

    def name(self) -> str:
        return tr("Noisy labels segmentation")

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def loadAlgorithms(self) -> None:  # noqa: N802 (QGIS's name)
        for algorithm in ALL_ALGORITHMS:
            self.addAlgorithm(algorithm())

    def supportedOutputRasterLayerExtensions(self) -> list[str]:  # noqa: N802
        return ["tif"]  # the backend writes GeoTIFF

    def supportedOutputVectorLayerExtensions(self) -> list[str]:  # noqa: N802
        return ["gpkg"]  # vectorize and compare-map write GeoPackages, suggest its tiles
