"""QGIS Processing provider: the ``noisyseg`` commands as algorithms (toolbox, modeler, qgis_process).

Like the rest of the plugin it never imports torch: every algorithm runs the backend command
as a subprocess (``runner.run_backend``).
"""

from .provider import NoisySegProvider

__all__ = ["NoisySegProvider"]
