import numpy as np
import pytest

from qgis_noisyseg.inference.blending import MIN_WEIGHT, ramp_profile, tile_weights
from qgis_noisyseg.inference.grid import TileLayout, tile_origins


def test_weights_are_positive_and_flat_in_the_centre():
    weights = tile_weights(64, 64, 16, top=False, bottom=False, left=False, right=False)
    assert weights.min() >= MIN_WEIGHT ** 2
    assert np.all(weights[16:48, 16:48] == 1.0)
    assert weights[0, 0] < weights[8, 8] < weights[16, 16]


def test_sides_on_the_area_edge_keep_full_weight():
    weights = tile_weights(64, 64, 16, top=True, bottom=False, left=True, right=False)
    assert np.all(weights[0, :48] == 1.0) and np.all(weights[:48, 0] == 1.0)
    assert weights[-1, -1] < 0.01


@pytest.mark.parametrize("tile,overlap", [(64, 16), (64, 1), (96, 40)])
def test_ramps_of_neighbouring_tiles_add_up_to_one(tile, overlap):
    total = np.zeros(tile * 4)
    for origin in range(0, tile * 3, tile - overlap):
        total[origin:origin + tile] += ramp_profile(tile, overlap, origin == 0, False)
    interior = total[overlap:tile * 2]
    np.testing.assert_allclose(interior, 1.0, atol=MIN_WEIGHT)  # exact but for the floor


def test_tiles_stay_inside_and_end_on_the_edge():
    assert tile_origins(150, 64, 48) == [0, 48, 86]
    assert tile_origins(64, 64, 48) == [0]
    assert tile_origins(40, 64, 48) == [0]


def test_short_axis_gets_a_smaller_padded_tile():
    layout = TileLayout.plan(20, 150, 64, 16)
    assert (layout.tile_height, layout.tile_width) == (32, 64)
    assert layout.valid_shape == (20, 64)
    assert layout.row_origins == (0,)
