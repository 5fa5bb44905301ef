"""Figures without a display: matplotlib's Agg backend, imported only when a figure is made."""

from __future__ import annotations

import warnings
from pathlib import Path

from .atomic import atomic_file


def new_figure(size: tuple[float, float]):
    """A ``matplotlib.figure.Figure`` (constrained layout) bound to no GUI backend."""
    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():  # a system mpl_toolkits beside the venv's matplotlib
        warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        from matplotlib.figure import Figure
    return Figure(figsize=size, layout="constrained")


def save_figure(figure, path: Path, dpi: int = 110) -> None:
    """Writes ``figure`` to ``path`` atomically: a reader never sees half a PNG."""
    with atomic_file(path) as tmp:
        figure.savefig(tmp, dpi=dpi)
