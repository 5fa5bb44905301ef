"""Weights for blending overlapping tile predictions.

A tile's prediction is least reliable near its borders, where the network sees padding instead
of context. Each tile's class probabilities are therefore multiplied by a window that is 1.0 in
the centre and falls off over the overlap width with a half-Hann (sin²) ramp, and the sum is
divided by the sum of the windows.

Why this window:

- On a regular grid (neighbouring tiles ``tile - overlap`` apart) the falling ramp of one tile
  and the rising ramp of the next add up to 1 (sin² + cos², up to the floor below), so the
  blend is a smooth cross-fade without seams.
- The ramp is sampled at pixel centres (``i + 0.5``) and floored at ``MIN_WEIGHT``, so every
  weight is > 0 and the weight sum can never be 0.
- A side of the tile that lies on the edge of the predicted area has no neighbour to fade into,
  so it keeps full weight there (``edges``): edge pixels are not under-weighted.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

MIN_WEIGHT = 1e-3


@lru_cache(maxsize=64)
def ramp_profile(length: int, overlap: int, start_at_edge: bool, end_at_edge: bool) -> np.ndarray:
    """1-D weights float32 [length]: 1.0 in the middle, sin² ramps over ``overlap`` pixels at
    the ends that are not at the edge of the predicted area."""
    profile = np.ones(length, dtype=np.float32)
    ramp_width = min(overlap, length)
    if ramp_width > 0:
        positions = (np.arange(ramp_width, dtype=np.float64) + 0.5) / ramp_width
        rising = np.maximum(np.sin(0.5 * np.pi * positions) ** 2, MIN_WEIGHT).astype(np.float32)
        if not start_at_edge:
            profile[:ramp_width] = np.minimum(profile[:ramp_width], rising)
        if not end_at_edge:
            profile[length - ramp_width:] = np.minimum(profile[length - ramp_width:], rising[::-1])
    profile.setflags(write=False)
    return profile


def tile_weights(height: int, width: int, overlap: int, *, top: bool, bottom: bool, left: bool,
                 right: bool) -> np.ndarray:
    """2-D weights float32 [height, width], the outer product of two ramp profiles. ``top`` etc.
    say which sides of the tile lie on the edge of the predicted area (and keep full weight)."""
    rows = ramp_profile(height, overlap, top, bottom)
    cols = ramp_profile(width, overlap, left, right)
    return np.outer(rows, cols)
