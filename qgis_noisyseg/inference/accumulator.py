"""A rolling buffer of weighted class probabilities, a few tile-heights tall.

Tiles are added in row-major order. Once no later tile can touch rows above some row, those
rows are final: ``pop_rows`` divides them by their weight sum, hands them out and shifts the
buffer up. Memory is therefore ``classes x rows x width`` with ``rows`` set by the tile size,
never by the height of the image.
"""

from __future__ import annotations

import numpy as np


class StripAccumulator:
    def __init__(self, num_classes: int, rows: int, width: int) -> None:
        self.weighted_sum = np.zeros((num_classes, rows, width), dtype=np.float32)
        self.weight_sum = np.zeros((rows, width), dtype=np.float32)
        self.top = 0  # window row held in buffer row 0

    @property
    def rows(self) -> int:
        return self.weight_sum.shape[0]

    def add(self, probabilities: np.ndarray, weights: np.ndarray, row: int, col: int) -> None:
        """Adds one tile's probabilities [classes, h, w] with weights [h, w] at window (row, col)."""
        height, width = weights.shape
        first = row - self.top
        if first < 0 or first + height > self.rows:
            raise ValueError(f"tile rows {row}..{row + height} fall outside the buffer "
                             f"{self.top}..{self.top + self.rows}")
        self.weighted_sum[:, first:first + height, col:col + width] += probabilities * weights
        self.weight_sum[first:first + height, col:col + width] += weights

    def pop_rows(self, stop: int) -> tuple[int, np.ndarray]:
        """Releases the final rows ``top..stop``: (first row, blended probabilities [classes, n, width])."""
        count = stop - self.top
        if not 0 < count <= self.rows:
            raise ValueError(f"cannot release rows {self.top}..{stop} from a buffer of {self.rows} rows")
        blended = self.weighted_sum[:, :count] / self.weight_sum[:count]
        first = self.top
        self._shift_up(count)
        self.top = stop
        return first, blended

    def _shift_up(self, count: int) -> None:
        kept = self.rows - count
        self.weighted_sum[:, :kept] = self.weighted_sum[:, count:]
        self.weighted_sum[:, kept:] = 0.0
        self.weight_sum[:kept] = self.weight_sum[count:]
        self.weight_sum[kept:] = 0.0
