"""Check tiles: a random sample of the image, spread over it, on which models are scored.

The tiles an operator corrects to train on are chosen where the model is worst (``suggest``), so
they are no sample of the image and a score on them says little about the map. Check tiles are
drawn at random instead, one per spatial block in turn (blocks in a random order, a random tile
within each), so that a few of them still cover the image rather than one corner. They are
never suggested, never trained on and never used to select a model; the clean dataset puts them
in its ``test`` split.

Tiles of the noisy dataset's ``test`` split come first: pretraining never saw even their noisy
labels. Other tiles are drawn only when too few test tiles are left. numpy only.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

DEFAULT_CHECK_TILES = 4
MIN_VALID_FRACTION = 0.5
DEFAULT_BLOCK_PX = 512


def block_of(tile: dict, block_px: int) -> tuple[int, int]:
    window = tile["window"]
    return int(window["row_off"]) // block_px, int(window["col_off"]) // block_px


def draw_check_tiles(manifest: dict, count: int, exclude: Iterable[str] = (), seed: int = 0) -> list[str]:
    """``count`` tile ids drawn as the module says, none of ``exclude`` (tiles already chosen
    to train on, or already check tiles), in the order drawn. Fewer when the image has fewer
    tiles with at least ``MIN_VALID_FRACTION`` valid pixels."""
    excluded = set(exclude)
    tiles = [t for t in manifest["tiles"] if t["id"] not in excluded
             and float(t.get("valid_fraction", 1.0)) >= MIN_VALID_FRACTION]
    block_px = int(manifest.get("split_block_px") or 0) or max(DEFAULT_BLOCK_PX, 2 * int(manifest["tile_size"]))
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for pool in ([t for t in tiles if t.get("split") == "test"], [t for t in tiles if t.get("split") != "test"]):
        if len(chosen) >= count:
            break
        chosen += _stratified(pool, count - len(chosen), block_px, rng)
    return chosen


def _stratified(tiles: Sequence[dict], count: int, block_px: int, rng: np.random.Generator) -> list[str]:
    blocks: dict[tuple[int, int], list[str]] = {}
    for tile in sorted(tiles, key=lambda t: t["id"]):
        blocks.setdefault(block_of(tile, block_px), []).append(tile["id"])
    order = [list(blocks)[i] for i in rng.permutation(len(blocks))]
    for key in order:
        members = blocks[key]
        blocks[key] = [members[i] for i in rng.permutation(len(members))]
    chosen: list[str] = []
    while len(chosen) < count and any(blocks[key] for key in order):
        for key in order:
            if blocks[key] and len(chosen) < count:
                chosen.append(blocks[key].pop())
    return chosen
