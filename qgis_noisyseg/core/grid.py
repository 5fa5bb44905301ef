"""The tile grid over a raster, and spatially blocked train/val/test splits.

Tiles lie fully inside the raster: the last row and column are shifted back to end at the
edge, so the whole raster is covered. Splits are made per block of pixels, not per tile, and a
tile whose footprint reaches into a block of another split is dropped, so tiles that overlap
(stride < tile) never straddle train and test.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from rasterio.windows import Window

from .errors import UserError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Tile:
    row_off: int
    col_off: int
    size: int

    @property
    def id(self) -> str:
        return f"r{self.row_off:06d}_c{self.col_off:06d}"

    @property
    def window(self) -> Window:
        return Window(self.col_off, self.row_off, self.size, self.size)


def axis_offsets(length: int, tile: int, stride: int) -> list[int]:
    """Offsets along one axis: every ``stride`` px, plus one ending exactly at the edge."""
    if tile > length:
        raise UserError(f"tile size {tile} px is larger than the image ({length} px on one side); use a smaller --tile")
    offsets = list(range(0, length - tile + 1, stride))
    if offsets[-1] + tile < length:
        offsets.append(length - tile)
    return offsets


def tile_rows(height: int, width: int, tile: int, stride: int) -> list[list[Tile]]:
    """The grid, as rows of tiles (one row is one strip of the raster)."""
    if tile <= 0 or stride <= 0:
        raise UserError("--tile and --stride must be positive")
    if stride > tile:
        raise UserError(f"--stride {stride} is larger than --tile {tile}; pixels between tiles would be skipped")
    rows = axis_offsets(height, tile, stride)
    cols = axis_offsets(width, tile, stride)
    return [[Tile(r, c, tile) for c in cols] for r in rows]


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or any(not math.isfinite(p) or p < 0 for p in parts) or sum(parts) <= 0:
        raise UserError(f"--split {text!r}: expected three non-negative fractions train,val,test such as 0.8,0.1,0.1")
    total = sum(parts)
    return parts[0] / total, parts[1] / total, parts[2] / total


def default_block_px(tile: int, stride: int) -> int:
    """A split block holds 2 x 2 non-overlapping tiles' worth of pixels, aligned to the stride."""
    steps = -(-2 * tile // stride)
    return steps * stride


def assign_splits(tiles: Sequence[Tile], fractions: Sequence[float], block_px: int, seed: int) -> tuple[dict[Tile, str], int]:
    """Split tiles by spatial block. Returns (tile -> split for kept tiles, number dropped)."""
    if not tiles:
        return {}, 0

    def block_of(row: int, col: int) -> tuple[int, int]:
        return row // block_px, col // block_px

    tiles_per_block: dict[tuple[int, int], int] = {}
    for t in tiles:
        key = block_of(t.row_off + t.size // 2, t.col_off + t.size // 2)
        tiles_per_block[key] = tiles_per_block.get(key, 0) + 1

    rng = np.random.default_rng(seed)
    blocks = sorted(tiles_per_block)
    order = rng.permutation(len(blocks))
    wanted = [i for i, f in enumerate(fractions) if f > 0]
    counts = [0, 0, 0]
    block_split: dict[tuple[int, int], str] = {}
    total = sum(tiles_per_block.values())
    for rank, idx in enumerate(order):
        key = blocks[idx]
        remaining = len(order) - rank
        empty = [i for i in wanted if counts[i] == 0]
        if empty and remaining <= len(empty):
            choice = empty[0]  # make sure every requested split gets a block when it can
        else:
            deficits = [(fractions[i] * total - counts[i], -i) for i in wanted]
            choice = -max(deficits)[1]
        block_split[key] = SPLITS[choice]
        counts[choice] += tiles_per_block[key]

    assigned: dict[Tile, str] = {}
    dropped = 0
    for t in tiles:
        centre_split = block_split[block_of(t.row_off + t.size // 2, t.col_off + t.size // 2)]
        r0, c0 = block_of(t.row_off, t.col_off)
        r1, c1 = block_of(t.row_off + t.size - 1, t.col_off + t.size - 1)
        touched = {block_split.get((r, c)) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        touched.discard(None)
        if touched == {centre_split}:
            assigned[t] = centre_split
        else:
            dropped += 1
    return assigned, dropped
