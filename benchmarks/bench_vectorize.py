"""Vectorize: time and peak RSS of `noisyseg vectorize` at two raster sizes (default 5000² and
20000² px), on synthetic class rasters of the same texture (smooth class regions about 60 px
across, 3 classes, uint8, tiled deflate) with a confidence raster, so the count of polygons
grows with the area and memory should not.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from measure import peak_rss_mb

STRIP = 1024


def class_raster(path: Path, size: int) -> Path:
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="uint8", nodata=255, crs="EPSG:25832",
                   transform=from_origin(500000.0, 6300000.0, 10.0, 10.0), tiled=True, blockxsize=256,
                   blockysize=256, compress="deflate", BIGTIFF="IF_SAFER")
    cols = np.arange(size, dtype=np.float32)
    with rasterio.open(path, "w", **profile) as dst, \
            rasterio.open(path.with_name(f"{path.stem}_confidence.tif"), "w", **profile) as conf:
        dst.update_tags(1, CLASS_0="background", CLASS_1="water", CLASS_2="forest")
        dst.write_colormap(1, {0: (200, 200, 200, 255), 1: (0, 0, 255, 255), 2: (0, 160, 0, 255)})
        for row in range(0, size, STRIP):
            rows = np.arange(row, min(size, row + STRIP), dtype=np.float32)[:, None]
            field = np.sin(rows / 23.0) + np.cos(cols[None] / 19.0) + 0.7 * np.sin((rows + 2 * cols[None]) / 41.0)
            window = Window(0, row, size, rows.shape[0])
            dst.write(np.digitize(field, [-0.6, 0.6]).astype(np.uint8), 1, window=window)
            conf.write(np.clip(50 + 30 * field, 0, 100).astype(np.uint8), 1, window=window)
    return path


def run(work: Path, sizes=(5000, 20000)) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results = {}
    for size in sizes:
        raster = class_raster(work / f"classes_{size}.tif", size)
        out = work / f"classes_{size}.gpkg"
        start = time.perf_counter()
        peak = peak_rss_mb(["vectorize", "--prediction", str(raster), "--out", str(out)])
        seconds = time.perf_counter() - start
        import pyogrio

        polygons = pyogrio.read_info(out, layer="classes")["features"]
        results[f"{size}x{size}"] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak), "polygons": int(polygons)}
        for path in work.glob(f"classes_{size}*"):
            path.unlink()
    small, large = (results[f"{s}x{s}"]["peak_rss_mb"] for s in sizes)
    return {"by_size": results, "peak_rss_ratio": round(large / small, 2),
            "pixels_ratio": round((sizes[1] / sizes[0]) ** 2, 1)}


def report(r: dict) -> str:
    lines = ["vectorize: synthetic 3-class raster, smooth regions, with confidence"]
    for size, row in r["by_size"].items():
        lines.append(f"  {size}: {row['seconds']:7.1f} s  peak RSS {row['peak_rss_mb']} MB  {row['polygons']} polygons")
    lines.append(f"  peak RSS ratio {r['peak_rss_ratio']:.2f}x for {r['pixels_ratio']:g}x the pixels")
    return "\n".join(lines)
