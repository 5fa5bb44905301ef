"""A local XYZ tile source made from the Denmark scene: 8-bit PNG tiles in Web Mercator under
``ROOT/{z}/{x}/{y}.png``, for a ``file://`` XYZ layer (no network)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject, transform_bounds

HALF = 20037508.342789244
TILE = 256


def make_tiles(image: Path, root: Path, zoom: int = 13) -> dict:
    """Writes the tiles covering ``image`` at ``zoom``; returns the template URL and the tiles."""
    with rasterio.open(image) as src:
        pixels = src.read([1, 2, 3]).astype(np.float64)
        valid = src.read_masks(1) > 0
        low, high = np.percentile(pixels[:, valid], 2, axis=1), np.percentile(pixels[:, valid], 98, axis=1)
        rgb = np.clip((pixels - low[:, None, None]) / (high - low)[:, None, None] * 255, 0, 255).astype(np.uint8)
        alpha = np.where(valid, 255, 0).astype(np.uint8)[None]
        source = np.concatenate([rgb, alpha])
        left, bottom, right, top = transform_bounds(src.crs, "EPSG:3857", *src.bounds)
        size = 2 * HALF / 2 ** zoom
        written = []
        for x in range(math.floor((left + HALF) / size), math.floor((right + HALF) / size) + 1):
            for y in range(math.floor((HALF - top) / size), math.floor((HALF - bottom) / size) + 1):
                tile = np.zeros((4, TILE, TILE), dtype=np.uint8)
                transform = from_origin(-HALF + x * size, HALF - y * size, size / TILE, size / TILE)
                reproject(source, tile, src_transform=src.transform, src_crs=src.crs, dst_transform=transform,
                          dst_crs="EPSG:3857", resampling=Resampling.bilinear)
                path = root / str(zoom) / str(x) / f"{y}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # PNG tiles carry no georeferencing: the XYZ scheme places them
                    with rasterio.open(path, "w", driver="PNG", width=TILE, height=TILE, count=4, dtype="uint8") as dst:
                        dst.write(tile)
                written.append(path)
    return {"url": f"file://{root.resolve()}/{{z}}/{{x}}/{{y}}.png", "zoom": zoom, "tiles": written}


def xyz_uri(url: str, zoom: int) -> str:
    return f"type=xyz&url={url}&zmin={zoom}&zmax={zoom}&crs=EPSG3857"
