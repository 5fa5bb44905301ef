"""Export throughput against gdal_rasterize, and peak memory at two raster heights.

Scenes: the real Denmark Sentinel-2 chip repeated as a VRT mosaic, and its 2016 parcels
repeated in every 4th mosaic cell (benchmarks/scenes.py). Timings of both tools come from the
same run, so their ratio is meaningful on a noisy shared machine; absolute seconds are not.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from measure import peak_rss_mb, timed
from scenes import DENMARK, mosaic_polygons, mosaic_vrt

REPO = Path(__file__).resolve().parents[1]
CLASSES = DENMARK / "classes.json"


def burn_only_seconds(image: Path, polygons: Path, tile: int) -> float:
    """Our label-burning engine alone (all strips, no image reads, no tile files): the part of
    export that does what gdal_rasterize does."""
    import numpy as np
    import rasterio
    from rasterio.windows import Window, bounds as window_bounds, transform as window_transform

    from qgis_noisyseg.core.classes import ClassMap
    from qgis_noisyseg.core.labels import VectorLabels

    start = time.perf_counter()
    with rasterio.open(image) as src:
        labels = VectorLabels(polygons, None, "AfgKode", None, src.crs, tuple(src.bounds), False)
        labels.bind(ClassMap.load(CLASSES))
        for row_off in range(0, src.height, tile):
            height = min(tile, src.height - row_off)
            strip = Window(0, row_off, src.width, height)
            mask = np.full((height, src.width), 255, dtype=np.uint8)
            labels.burn(mask, window_transform(strip, src.transform), window_bounds(strip, src.transform))
    return time.perf_counter() - start


def run(work: Path, size: int = 20000, tile: int = 256) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    image = mosaic_vrt(work / f"mosaic_{size}.vrt", size, size)
    polygons = work / f"parcels_{size}.gpkg"
    features = mosaic_polygons(polygons, size, size)
    with rasterio_bounds(image) as (left, bottom, right, top, res):
        gdal = ["gdal_rasterize", "-q", "-a", "AfgKode", "-te", str(left), str(bottom), str(right), str(top),
                "-tr", str(res), str(res), "-ot", "Byte", "-co", "TILED=YES", "-co", "COMPRESS=ZSTD",
                str(polygons), str(work / "gdal_rasterize.tif")]
    out = work / "export"
    shutil.rmtree(out, ignore_errors=True)
    ours = [sys.executable, "-m", "qgis_noisyseg", "export", "--image", str(image), "--labels", str(polygons),
            "--field", "AfgKode", "--classes", str(CLASSES), "--tile", str(tile), "--out", str(out)]
    (work / "gdal_rasterize.tif").unlink(missing_ok=True)
    gdal_s = timed(gdal)
    export_s = timed(ours)
    burn_s = burn_only_seconds(image, polygons, tile)
    tiles = len(json.loads((out / "manifest.json").read_text())["tiles"])
    shutil.rmtree(out)

    memory = {}
    for height in (size // 4, size):
        tall = mosaic_vrt(work / f"mosaic_{size}x{height}.vrt", size, height)
        target = work / f"export_{height}"
        shutil.rmtree(target, ignore_errors=True)
        memory[f"{size}x{height}"] = peak_rss_mb(["export", "--image", str(tall), "--labels", str(polygons), "--field",
                                                  "AfgKode", "--classes", str(CLASSES), "--tile", str(tile),
                                                  "--out", str(target)])
        shutil.rmtree(target)
    heights = list(memory)
    return {
        "grid_px": f"{size}x{size}", "polygons": features, "tiles_written": tiles,
        "gdal_rasterize_s": round(gdal_s, 2), "export_s": round(export_s, 2), "burn_only_s": round(burn_s, 2),
        "export_over_gdal_rasterize": round(export_s / gdal_s, 2),
        "burn_only_over_gdal_rasterize": round(burn_s / gdal_s, 2),
        "peak_rss_mb": {k: round(v) for k, v in memory.items()},
        "peak_rss_ratio_4x_height": round(memory[heights[1]] / memory[heights[0]], 2),
    }


class rasterio_bounds:
    def __init__(self, path: Path) -> None:
        import rasterio

        self.src = rasterio.open(path)

    def __enter__(self):
        b = self.src.bounds
        return b.left, b.bottom, b.right, b.top, self.src.res[0]

    def __exit__(self, *exc) -> None:
        self.src.close()


def report(r: dict) -> str:
    return "\n".join([
        f"export: {r['grid_px']} px grid, {r['polygons']} polygons, {r['tiles_written']} tile pairs",
        f"  gdal_rasterize (mask only)        {r['gdal_rasterize_s']:7.2f} s",
        f"  noisyseg label burning only       {r['burn_only_s']:7.2f} s   ratio {r['burn_only_over_gdal_rasterize']:.2f}x",
        f"  noisyseg export (images + masks)  {r['export_s']:7.2f} s   ratio {r['export_over_gdal_rasterize']:.2f}x",
        f"  peak RSS {', '.join(f'{k}: {v} MB' for k, v in r['peak_rss_mb'].items())}"
        f"   ratio {r['peak_rss_ratio_4x_height']:.2f}x for 4x the height",
    ])
