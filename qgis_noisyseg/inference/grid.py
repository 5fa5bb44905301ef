"""Where the tiles go: the predicted window of the image and the tile layout inside it.

Tiles lie fully inside the window: tiles start every ``tile - overlap`` pixels and the last
row/column is shifted back to end exactly on the window's edge. Along an axis shorter than a
tile, the tile shrinks to that length rounded up to a multiple of 32 (the networks downsample
by 32) and the input is reflect-padded up to it; the padding is cropped off the prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from affine import Affine
from rasterio.windows import Window, from_bounds

from ..core.errors import UserError
from .blending import tile_weights

TILE_MULTIPLE = 32


def check_tiling(tile: int, overlap: int) -> None:
    if tile <= 0 or tile % TILE_MULTIPLE:
        raise UserError(f"tile size {tile} must be a positive multiple of {TILE_MULTIPLE}")
    if not 0 <= overlap < tile:
        raise UserError(f"overlap {overlap} must be at least 0 and smaller than the tile size {tile}")


def extent_window(transform: Affine, width: int, height: int, extent: Sequence[float]) -> Window:
    """The whole-pixel window of the image that covers ``extent`` (xmin, ymin, xmax, ymax in the
    image's CRS), clipped to the image."""
    xmin, ymin, xmax, ymax = (float(v) for v in extent)
    if not (xmin < xmax and ymin < ymax):
        raise UserError(f"extent {tuple(extent)} is empty; give it as xmin, ymin, xmax, ymax")
    exact = from_bounds(xmin, ymin, xmax, ymax, transform=transform)
    # Rounding first keeps float noise from adding a sliver row or column.
    col_start = max(0, math.floor(round(exact.col_off, 6)))
    row_start = max(0, math.floor(round(exact.row_off, 6)))
    col_stop = min(width, math.ceil(round(exact.col_off + exact.width, 6)))
    row_stop = min(height, math.ceil(round(exact.row_off + exact.height, 6)))
    if col_stop <= col_start or row_stop <= row_start:
        raise UserError(f"extent {tuple(extent)} does not intersect the image")
    return Window(col_start, row_start, col_stop - col_start, row_stop - row_start)


def tile_origins(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets along one axis: every ``stride``, the last one ending on ``length``."""
    if length <= tile:
        return [0]
    origins = list(range(0, length - tile + 1, stride))
    if origins[-1] != length - tile:
        origins.append(length - tile)
    return origins


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class TileLayout:
    """Tiles over a ``height`` x ``width`` window, in row-major order."""

    height: int
    width: int
    tile_height: int
    tile_width: int
    overlap: int
    row_origins: tuple[int, ...]
    col_origins: tuple[int, ...]

    @classmethod
    def plan(cls, height: int, width: int, tile: int, overlap: int) -> "TileLayout":
        check_tiling(tile, overlap)
        tile_height = min(tile, _round_up(height, TILE_MULTIPLE))
        tile_width = min(tile, _round_up(width, TILE_MULTIPLE))
        stride = tile - overlap
        return cls(height, width, tile_height, tile_width, overlap,
                   tuple(tile_origins(height, tile_height, stride)),
                   tuple(tile_origins(width, tile_width, stride)))

    @property
    def tiles(self) -> list[tuple[int, int]]:
        return [(row, col) for row in self.row_origins for col in self.col_origins]

    @property
    def valid_shape(self) -> tuple[int, int]:
        """The part of each tile that lies inside the window (smaller only when padded)."""
        return min(self.tile_height, self.height), min(self.tile_width, self.width)

    def weights(self, row: int, col: int) -> np.ndarray:
        valid_height, valid_width = self.valid_shape
        return tile_weights(
            valid_height, valid_width, self.overlap,
            top=row == 0, bottom=row + valid_height >= self.height,
            left=col == 0, right=col + valid_width >= self.width,
        )
