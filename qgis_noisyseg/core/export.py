"""``noisyseg export``: burn map layers onto the image grid and cut image/mask tile pairs.

Work goes strip by strip (one row of tiles): read the image strip and its valid area, burn every
label source into the strip in order (later over earlier), then cut and write the tiles. Memory is
O(image width x tile), whatever the raster's height, and nothing is written under ``--out``
until the whole dataset is complete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import rasterio
from rasterio.windows import Window, bounds as window_bounds, transform as window_transform

from .. import __version__
from .atomic import atomic_dir, write_json
from .classes import BACKGROUND, IGNORE, ClassMap
from .dataset import FORMAT, FORMAT_VERSION, MANIFEST, RunningBandStats, class_histogram, mask_profile
from .errors import UserError
from .grid import assign_splits, default_block_px, tile_rows
from .imagery import Imagery, crs_label
from .labels import RasterLabels, VectorLabels, geometry_report, open_label_source
from .oserrors import free_files, require_free_space
from .outputs import plan_outputs
from .progress import Reporter

UNLABELED_CHOICES = ("background", "ignore")
MAX_TILES = 50_000  # more needs --force (commands/export.py says the same)
MASK_BYTES_PER_PIXEL = 0.1
FILE_OVERHEAD = 4096
# Strips are read once, so a large GDAL block cache only costs memory.
GDAL_CACHE_MB = 128
# GDAL compresses with the GIL released: two writer threads overlap with reading the next strip.
WRITER_THREADS = 2
IMAGE_TILE_OPTIONS = {"compress": "zstd", "zstd_level": 1, "predictor": 2}
# Normalisation statistics from every 4th pixel along both axes: plenty, and 16x cheaper.
STATS_STEP = 4


def export_dataset(
    image: str | Path,
    labels: Sequence[str],
    out: str | Path,
    *,
    field: Optional[str] = None,
    classes: Optional[str | Path] = None,
    unlabeled: str = "ignore",
    all_touched: bool = False,
    tile: int = 256,
    stride: Optional[int] = None,
    min_valid: float = 0.5,
    split: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    encoding: Optional[str] = None,
    nodata: Optional[str] = None,
    overwrite: bool = False,
    force: bool = False,
    reporter: Optional[Reporter] = None,
    command: Optional[list[str]] = None,
    arguments: Optional[dict] = None,
) -> dict:
    reporter = reporter or Reporter()
    out = Path(out)
    stride = tile if stride is None else stride
    if unlabeled not in UNLABELED_CHOICES:
        raise UserError(f"--unlabeled must be one of {', '.join(UNLABELED_CHOICES)}")
    if not 0.0 <= min_valid <= 1.0:
        raise UserError("--min-valid must be a fraction between 0 and 1")
    if not labels:
        raise UserError("give at least one --labels source")
    plan = plan_outputs(overwrite, [(image, "--image"), *((text, "--labels") for text in labels), (classes, "--classes")],
                        reporter)
    plan.folder(out, "--out", "dataset")
    plan.check()

    with contextlib.ExitStack() as stack:
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2**20))  # bytes: small numbers are not MB here
        img = stack.enter_context(Imagery(image, nodata, reporter))
        sources = []
        for text in labels:
            source = open_label_source(text, img.src.crs, tuple(img.src.bounds), field=field,
                                       encoding=encoding, all_touched=all_touched)
            if isinstance(source, RasterLabels):
                stack.callback(source.close)
            sources.append(source)
        class_map = _class_map(classes, sources, field)
        for source in sources:
            source.bind(class_map)
        rows = tile_rows(img.height, img.width, tile, stride)
        block_px = default_block_px(tile, stride)
        check_budget(out, len([t for row in rows for t in row]), tile, len(img.band_indexes), img.dtype, force)
        splits, dropped = assign_splits([t for row in rows for t in row], split, block_px, seed)
        fill = BACKGROUND if unlabeled == "background" else IGNORE

        with plan.writing(), atomic_dir(out, "dataset") as tmp:
            (tmp / "images").mkdir()
            (tmp / "masks").mkdir()
            entries, band_stats = _write_tiles(tmp, img, sources, class_map, rows, splits, fill, min_valid, reporter)
            if not entries:
                raise UserError(f"no tile has at least {min_valid:.0%} valid image pixels; lower --min-valid "
                                "or check the image's nodata")
            geometry = geometry_report(sources)
            if geometry:
                reporter.warning(geometry)
            for source in sources:
                if source.unmatched:
                    listed = ", ".join(f"{v!r} ({n})" for v, n in list(source.unmatched.items())[:10])
                    reporter.warning(f"{source.name}: values with no class were set to ignore: {listed}")
            if not any(t["labeled_fraction"] > 0 for t in entries):
                reporter.warning("no tile has any labelled pixel; check --field, --classes and --unlabeled")
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "package_version": __version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "command": command,
                "arguments": arguments or {},
                "crs": crs_label(img.src.crs),
                "crs_wkt": img.src.crs.to_wkt(),
                "resolution": list(img.src.res),
                "units": _units(img.src.crs),
                "tile_size": tile,
                "stride": stride,
                "ignore_index": IGNORE,
                "unlabeled": unlabeled,
                "image": img.describe(),
                "band_stats": band_stats,
                "label_sources": [s.describe() for s in sources],
                "classes": [c.to_dict() for c in class_map.classes],
                "label_source": "noisy",
                "noise": None,
                "split_block_px": block_px,
                "splits": {name: sum(1 for t in entries if t["split"] == name) for name in ("train", "val", "test")},
                "dropped_at_split_borders": dropped,
                "tiles": entries,
            }
            write_json(tmp / MANIFEST, manifest)
            class_map.save(tmp / "classes.json")
    reporter.info(f"wrote {len(entries)} tiles to {out}")
    return {"dataset": str(out), "tiles": len(entries), "splits": manifest["splits"],
            "classes": len(class_map.classes), "nodata": manifest["image"]["nodata_source"],
            "warnings": list(reporter.warnings)}


def check_budget(out: Path, tiles: int, tile: int, bands: int, dtype: str, force: bool) -> None:
    """Refuses, before anything is written, a grid of more than ``MAX_TILES`` tiles (each is
    two files: an image of 100,000 x 1 px cut into 1 px tiles is 200,000 files) and a dataset that
    cannot fit the free space or the free inodes of the folder, unless ``force``."""
    if force:
        return
    if tiles > MAX_TILES:
        raise UserError(f"this export would cut {tiles:,} tiles ({2 * tiles:,} files), more than the {MAX_TILES:,} "
                        "a dataset should hold; use a larger --tile or --stride, or pass --force")
    # Imagery compresses little (the Denmark uint16 scene: 1.12 MB as zstd GeoTIFF for 1.12 MB of
    # pixels); masks compress well. A tile file costs one block of overhead besides.
    needed = tiles * (tile * tile * (bands * np.dtype(dtype).itemsize + MASK_BYTES_PER_PIXEL) + 2 * FILE_OVERHEAD)
    require_free_space(out.resolve().parent, int(needed), f"the {tiles:,} tiles of the dataset")
    inodes = free_files(out.resolve().parent)
    if inodes is not None and inodes < 2 * tiles + 16:
        raise UserError(f"the file system of {out.resolve().parent} has room for {inodes:,} more files, and "
                        f"this export writes {2 * tiles:,}; free some, choose another --out, or pass --force")


def _class_map(classes: Optional[str | Path], sources, field: Optional[str]) -> ClassMap:
    vectors = [s for s in sources if isinstance(s, VectorLabels)]
    if classes is not None:
        class_map = ClassMap.load(Path(classes))
        if vectors and field is None and not class_map.matches_every_value:
            raise UserError("--classes with vector labels needs --field to match values against "
                            '(or a class with "values": ["*"] for every feature)')
        return class_map
    if vectors and field is None and len(vectors) == len(sources):
        return ClassMap.single(vectors[0].layer or vectors[0].path.stem)
    if vectors and field is None:
        raise UserError("mixing vector and raster label sources needs --field or --classes")
    values: list[str] = []
    for source in sources:
        values.extend(source.values())
    if not values:
        raise UserError("the label sources hold no values to make classes from; check --field")
    return ClassMap.from_values(values)


def _units(crs) -> str:
    if crs.is_geographic:
        return "degree"
    try:
        return crs.linear_units or "unknown"
    except Exception:  # noqa: BLE001 - exotic CRS definitions
        return "unknown"


def _write_tiles(tmp: Path, img: Imagery, sources, class_map: ClassMap, rows, splits, fill: int,
                 min_valid: float, reporter: Reporter) -> tuple[list[dict], dict]:
    total = sum(1 for row in rows for t in row if t in splits)
    done = 0
    entries: list[dict] = []
    stats = RunningBandStats(len(img.band_indexes))
    colormap = class_map.colormap()
    # No nodata value on the tiles: an internal mask marks their invalid pixels (whatever made them
    # invalid: the file's nodata, --nodata, a collar, NaN), and those pixels hold 0.
    image_profile = {"driver": "GTiff", "count": len(img.band_indexes), "dtype": img.dtype, "nodata": None,
                     "crs": img.src.crs, **IMAGE_TILE_OPTIONS}
    if np.dtype(img.dtype).kind == "f":
        image_profile["predictor"] = 3

    def write_pair(t, transform, tile_pixels, tile_valid, tile_mask) -> None:
        size = t.size
        with rasterio.open(tmp / f"images/{t.id}.tif", "w", width=size, height=size, transform=transform, **image_profile) as dst:
            dst.write(np.where(tile_valid[None], tile_pixels, 0).astype(tile_pixels.dtype, copy=False))
            if not tile_valid.all():
                dst.write_mask(tile_valid.astype(np.uint8) * 255)
        with rasterio.open(tmp / f"masks/{t.id}.tif", "w", **mask_profile(transform, img.src.crs, size)) as dst:
            dst.write(tile_mask, 1)
            dst.write_colormap(1, colormap)

    with ThreadPoolExecutor(max_workers=WRITER_THREADS) as writers:
        pending: list = []
        for row in rows:
            kept = [t for t in row if t in splits]
            if not kept:
                continue
            tile = row[0].size
            strip = Window(0, row[0].row_off, img.width, tile)
            strip_transform = window_transform(strip, img.src.transform)
            pixels = img.read(strip)
            valid = img.valid(strip, pixels)
            mask = np.full((tile, img.width), fill, dtype=np.uint8)
            strip_bounds = window_bounds(strip, img.src.transform)
            for source in sources:
                source.burn(mask, strip_transform, strip_bounds)
            mask[~valid] = IGNORE
            for future in pending:  # at most two strips in memory: this one and the one being written
                future.result()
            pending = []
            for t in kept:
                cols = slice(t.col_off, t.col_off + tile)
                tile_valid = valid[:, cols]
                valid_fraction = float(tile_valid.mean())
                done += 1
                if valid_fraction < min_valid or valid_fraction == 0.0:
                    continue
                tile_pixels = pixels[:, :, cols]
                tile_mask = mask[:, cols]
                transform = window_transform(t.window, img.src.transform)
                pending.append(writers.submit(write_pair, t, transform, tile_pixels, tile_valid, tile_mask))
                split = splits[t]
                if split == "train":
                    stats.add(tile_pixels[:, ::STATS_STEP, ::STATS_STEP], tile_valid[::STATS_STEP, ::STATS_STEP])
                entries.append({
                    "id": t.id, "image": f"images/{t.id}.tif", "mask": f"masks/{t.id}.tif",
                    "window": {"col_off": t.col_off, "row_off": t.row_off, "width": tile, "height": tile},
                    "transform": list(transform)[:6], "split": split, "label_source": "noisy",
                    "valid_fraction": round(valid_fraction, 6),
                    "labeled_fraction": round(float(np.count_nonzero(tile_mask != IGNORE)) / tile_mask.size, 6),
                    "class_histogram": class_histogram(tile_mask),
                })
            reporter.progress("export", done, total)
        for future in pending:
            future.result()
    if stats.count == 0 and entries:
        for entry in entries:  # no train tile: fall back to every tile's pixels for the statistics
            with rasterio.open(tmp / entry["image"]) as src:
                stats.add(src.read(), src.dataset_mask() > 0)
    return entries, stats.result()
