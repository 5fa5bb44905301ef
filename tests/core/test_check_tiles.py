"""Check tiles are drawn at random, spread over the image, and the bootstrap intervals over tiles."""

from __future__ import annotations

import numpy as np
import pytest

from qgis_noisyseg.core.check_tiles import block_of, draw_check_tiles, grid_size
from qgis_noisyseg.core.metrics import miou, paired_difference, tile_interval


def manifest(rows=8, cols=8, tile=64, test_rows=()):
    tiles = [{"id": f"r{r * tile:06d}_c{c * tile:06d}", "split": "test" if r in test_rows else "train",
              "window": {"row_off": r * tile, "col_off": c * tile, "width": tile, "height": tile},
              "valid_fraction": 1.0} for r in range(rows) for c in range(cols)]
    return {"tile_size": tile, "image": {"height": rows * tile, "width": cols * tile}, "tiles": tiles}


def blocks(m, chosen, count):
    by_id = {t["id"]: t for t in m["tiles"]}
    side = grid_size(count)
    return [block_of(by_id[t], m["image"]["height"], m["image"]["width"], side) for t in chosen]


def test_one_tile_per_block_before_a_second_one():
    m = manifest()
    for count in (4, 6, 9, 16):
        chosen = draw_check_tiles(m, count, seed=3)
        assert len(chosen) == count == len(set(chosen))
        assert len(set(blocks(m, chosen, count))) == count  # a grid of >= count blocks: each in its own


def test_seeded_excluded_and_test_tiles_preferred_within_a_block():
    m = manifest(test_rows=(0, 4))
    first = draw_check_tiles(m, 4, seed=0)
    assert first == draw_check_tiles(m, 4, seed=0) and first != draw_check_tiles(m, 4, seed=1)
    assert all(t.startswith(("r000000", "r000256")) for t in first)  # each 2x2-block half holds a test row
    again = draw_check_tiles(m, 60, exclude=first, seed=0)
    assert not set(again) & set(first) and len(again) == 60  # all the others, never one twice


def test_tiles_mostly_nodata_are_not_drawn():
    m = manifest(rows=1, cols=4)
    for tile in m["tiles"][1:]:
        tile["valid_fraction"] = 0.2
    assert draw_check_tiles(m, 4) == [m["tiles"][0]["id"]]


def cm(tp0, fp, fn, tp1):
    return np.array([[tp0, fp], [fn, tp1]])


def test_interval_contains_the_score_and_narrows_with_agreeing_tiles():
    varied = [cm(90, 10, 0, 0), cm(50, 0, 0, 50), cm(10, 40, 10, 40), cm(100, 0, 0, 100)]
    low, high = tile_interval(varied, "miou")
    assert low < miou(np.sum(varied, axis=0)) < high
    same = [cm(50, 0, 0, 50)] * 4
    assert tile_interval(same, "miou") == [1.0, 1.0]
    assert tile_interval(varied[:1], "miou") is None  # one tile: no spread to speak of


def test_paired_difference_resolves_only_a_clear_gap():
    good = [cm(45, 5, 5, 45), cm(40, 10, 0, 50), cm(48, 2, 4, 46), cm(42, 8, 3, 47)]
    bad = [cm(20, 30, 25, 25), cm(25, 25, 30, 20), cm(30, 20, 20, 30), cm(10, 40, 30, 20)]
    clear = paired_difference(good, bad)
    assert clear["resolved"] and clear["interval"][0] > 0 and clear["difference"] > 0.4
    close = [cm(44, 6, 5, 45), cm(41, 9, 1, 49), cm(47, 3, 5, 45), cm(43, 7, 2, 48)]
    assert not paired_difference(good, close)["resolved"]
    with pytest.raises(ValueError):
        paired_difference(good, bad[:3])
