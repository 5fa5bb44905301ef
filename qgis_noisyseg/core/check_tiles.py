"""Check tiles: a random sample of the image, spread over it, on which models are scored.

The tiles an operator corrects to train on are chosen where the model is worst (``suggest``), so
they are no sample of the image and a score on them says little about the map. Check tiles are
drawn at random instead, stratified by block: the image is cut into a grid of about ``count``
blocks, the blocks are visited in a random order, and each gives one tile drawn at random in
turn, so that a few tiles still cover the image rather than one corner. They are never
suggested, never trained on and never used to select a model; the clean dataset puts them in
its ``test`` split.

Within a block, a tile of the noisy dataset's ``test`` split is taken when there is one:
pretraining never saw even its noisy labels. The others were seen by pretraining with their
old-map labels, never with the corrected ones. numpy only.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

DEFAULT_CHECK_TILES = 4
MIN_VALID_FRACTION = 0.5


def grid_size(count: int) -> int:
    """Blocks per side: at least ``count`` blocks in all."""
    return max(1, math.ceil(math.sqrt(count)))


def block_of(tile: dict, image_height: int, image_width: int, blocks: int) -> tuple[int, int]:
    """The block (row, column) of a ``blocks`` x ``blocks`` grid that holds the tile's centre."""
    window = tile["window"]
    row = (int(window["row_off"]) + int(window["height"]) / 2) * blocks / image_height
    col = (int(window["col_off"]) + int(window["width"]) / 2) * blocks / image_width
    return min(int(row), blocks - 1), min(int(col), blocks - 1)


def image_size(manifest: dict) -> tuple[int, int]:
    image = manifest.get("image") or {}
    if image.get("height") and image.get("width"):
        return int(image["height"]), int(image["width"])
    windows = [t["window"] for t in manifest["tiles"]]
    return (max(int(w["row_off"]) + int(w["height"]) for w in windows),
            max(int(w["col_off"]) + int(w["width"]) for w in windows))


def draw_check_tiles(manifest: dict, count: int, exclude: Iterable[str] = (), seed: int = 0) -> list[str]:
    """``count`` tile ids drawn as the module says, none of ``exclude`` (tiles already chosen to
    train on, or already check tiles), in the order drawn. Fewer when the image has fewer tiles
    with at least ``MIN_VALID_FRACTION`` valid pixels."""
    excluded = set(exclude)
    tiles = sorted((t for t in manifest["tiles"] if t["id"] not in excluded
                    and float(t.get("valid_fraction", 1.0)) >= MIN_VALID_FRACTION), key=lambda t: t["id"])
    if not tiles or count <= 0:
        return []
    height, width = image_size(manifest)
    side = grid_size(count)
    rng = np.random.default_rng(seed)
    blocks: dict[tuple[int, int], list[dict]] = {}
    for tile in tiles:
        blocks.setdefault(block_of(tile, height, width, side), []).append(tile)
    order = [list(blocks)[i] for i in rng.permutation(len(blocks))]
    chosen: list[str] = []
    while len(chosen) < count and any(blocks[key] for key in order):
        for key in order:
            members = blocks[key]
            if not members or len(chosen) >= count:
                continue
            preferred = [t for t in members if t.get("split") == "test"] or members
            pick = preferred[int(rng.integers(len(preferred)))]
            members.remove(pick)
            chosen.append(pick["id"])
    return chosen
