"""Simulated label noise: corrupt the objects of a mask the way real map labels go wrong.

An object is an 8-connected component of one class (not background 0, not ignore 255). A
fraction ``rate`` of the objects is chosen at random and each gets one kind of noise:

- ``remove``: the object is dropped (its pixels become unlabelled);
- ``shift``: moved by an integer offset of up to half its extent per axis;
- ``erode`` / ``dilate``: shrunk / grown by a disk of diameter 5..15 px;
- ``rotate``: rotated about its centroid by an angle in [-180, 180) degrees;
- ``flip``: relabelled with another class, footprint unchanged.

Objects are vectorised with ``rasterio.features.shapes`` into polygons in pixel coordinates,
changed with shapely and burnt back with ``rasterio.features.rasterize``. All touched objects
are cleared first, then all new geometries are painted, in the order they were drawn.
"""

from __future__ import annotations

import copy
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import rasterio
import rasterio.features
import shapely
import shapely.affinity
from affine import Affine
from shapely.geometry import shape

from ..spec.names import MANIFEST
from .atomic import atomic_dir, write_json
from .outputs import plan_outputs
from .dataset import Dataset, class_histogram
from .errors import UserError
from .progress import Reporter

NOISE_KINDS = ("remove", "shift", "erode", "dilate", "rotate", "flip")
KERNEL_SIZES = (5, 15)  # inclusive range of the erode/dilate disk diameter, in pixels
_CLEARS = {"remove", "shift", "erode", "rotate"}
_UNLABELED_VALUES = {"background": 0, "ignore": 255}


@dataclass
class NoiseReport:
    objects: int
    touched: dict[str, int] = field(default_factory=dict)


def check_noise_args(rate: float, kinds: Sequence[str]) -> list[str]:
    """Validates ``rate`` and ``kinds``; returns the kinds without duplicates, in order."""
    try:
        rate_ok = math.isfinite(rate) and 0.0 <= rate <= 1.0
    except TypeError:
        rate_ok = False
    if not rate_ok:
        raise UserError(f"noise rate must be between 0 and 1, got {rate!r}")
    if isinstance(kinds, str):
        kinds = [kinds]
    unknown = [k for k in kinds if k not in NOISE_KINDS]
    if unknown:
        raise UserError(f"unknown noise kind {unknown[0]!r}; valid kinds are: {', '.join(NOISE_KINDS)}")
    if not kinds:
        raise UserError(f"no noise kind given; valid kinds are: {', '.join(NOISE_KINDS)}")
    return list(dict.fromkeys(kinds))


def find_objects(mask: np.ndarray, ignore_value: int = 255) -> list[tuple[int, shapely.Geometry]]:
    """(class id, polygon in pixel coordinates) for each 8-connected object of the mask."""
    labelled = (mask != 0) & (mask != ignore_value)
    if not labelled.any():
        return []
    objects = []
    for geojson, value in rasterio.features.shapes(
        mask, mask=labelled, connectivity=8, transform=Affine.identity()
    ):
        polygon = shape(geojson)
        if not polygon.is_valid:  # components joined only at a corner touch themselves
            polygon = shapely.make_valid(polygon)
        objects.append((int(value), polygon))
    return objects


def corrupt_mask(
    mask: np.ndarray,
    rate: float,
    kinds: Sequence[str],
    rng: np.random.Generator,
    num_classes: int,
    unlabeled_value: int = 0,
    ignore_value: int = 255,
    valid: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, NoiseReport]:
    """A corrupted copy of ``mask`` and what was done to it. ``valid`` (True = image pixel)
    marks the image area; everything outside it is ``ignore_value`` in the result."""
    kinds = check_noise_args(rate, kinds)
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise UserError(f"a mask must be 2-D, got shape {mask.shape}")
    if valid is not None and np.shape(valid) != mask.shape:
        raise UserError(f"valid area shape {np.shape(valid)} differs from mask shape {mask.shape}")
    out = mask.copy()
    objects = find_objects(mask, ignore_value)
    touched = {kind: 0 for kind in kinds}

    n_touch = int(round(rate * len(objects)))
    chosen = rng.choice(len(objects), size=n_touch, replace=False) if n_touch else []
    clear: list[shapely.Geometry] = []
    paint: list[tuple[shapely.Geometry, int]] = []
    for index in chosen:
        class_id, polygon = objects[index]
        kind = kinds[rng.integers(len(kinds))]
        if kind == "flip":
            others = [c for c in range(1, num_classes) if c != class_id]
            if not others:
                continue
            paint.append((polygon, others[rng.integers(len(others))]))
        elif kind == "shift":
            paint.append((shapely.affinity.translate(polygon, *_random_offset(polygon, rng)), class_id))
        elif kind == "erode":
            paint.append((polygon.buffer(-_random_kernel(rng) / 2), class_id))
        elif kind == "dilate":
            paint.append((polygon.buffer(_random_kernel(rng) / 2), class_id))
        elif kind == "rotate":
            angle = rng.uniform(-180.0, 180.0)
            paint.append((shapely.affinity.rotate(polygon, angle, origin="centroid"), class_id))
        if kind in _CLEARS:
            clear.append(polygon)
        touched[kind] += 1

    if clear:
        out[_burn([(g, 1) for g in clear], mask.shape) == 1] = unlabeled_value
    paint = [(g, v) for g, v in paint if not g.is_empty]
    if paint:
        painted = _burn(paint, mask.shape)  # class ids are >= 1, so 0 means "not painted"
        out[painted != 0] = painted[painted != 0]
    if valid is not None:
        out[~np.asarray(valid, dtype=bool)] = ignore_value
    return out, NoiseReport(objects=len(objects), touched=touched)


def _burn(shapes: list[tuple[shapely.Geometry, int]], out_shape: tuple[int, int]) -> np.ndarray:
    return rasterio.features.rasterize(
        shapes, out_shape=out_shape, fill=0, transform=Affine.identity(), all_touched=False, dtype="uint8"
    )


def _random_kernel(rng: np.random.Generator) -> int:
    return int(rng.integers(KERNEL_SIZES[0], KERNEL_SIZES[1] + 1))


def _random_offset(polygon: shapely.Geometry, rng: np.random.Generator) -> tuple[int, int]:
    """A non-zero integer offset of up to half the object's extent per axis (at least 1 px, so
    even a one-pixel object moves), uniform over the allowed offsets."""
    minx, miny, maxx, maxy = polygon.bounds
    max_dx = max(1, int(round(maxx - minx)) // 2)
    max_dy = max(1, int(round(maxy - miny)) // 2)
    width, height = 2 * max_dx + 1, 2 * max_dy + 1
    centre = max_dy * width + max_dx  # the zero offset, skipped
    pick = int(rng.integers(width * height - 1))
    pick += pick >= centre
    return pick % width - max_dx, pick // width - max_dy


def corrupt_dataset(
    src_dir: os.PathLike | str,
    out_dir: os.PathLike | str,
    rate: float,
    kinds: Sequence[str],
    seed: int,
    overwrite: bool = False,
    reporter: Optional[Reporter] = None,
) -> dict:
    """Writes a copy of the dataset at ``src_dir`` with corrupted masks to ``out_dir``."""
    reporter = reporter or Reporter(quiet=True)
    src, out = Path(src_dir).resolve(), Path(out_dir)
    manifest_path = src / MANIFEST
    if not manifest_path.is_file():
        raise UserError(f"{src} is not a noisyseg dataset (no manifest.json)")
    kinds = check_noise_args(rate, kinds)
    plan = plan_outputs(overwrite, [(src, "--data")], reporter)
    plan.folder(out, "--out", "dataset")
    plan.check()
    dataset = Dataset(src, require=())  # checked: keys, types, every tile present and inside the folder
    manifest = copy.deepcopy(dataset.manifest)
    ignore_value = int(manifest.get("ignore_index", 255))
    unlabeled = manifest.get("unlabeled", "ignore")
    if unlabeled not in _UNLABELED_VALUES:
        raise UserError(f"{manifest_path}: unknown 'unlabeled' value {unlabeled!r} (expected background or ignore)")
    unlabeled_value = ignore_value if unlabeled == "ignore" else _UNLABELED_VALUES[unlabeled]
    num_classes = len(manifest["classes"])
    tiles = manifest["tiles"]

    total = NoiseReport(objects=0, touched={kind: 0 for kind in kinds})
    with plan.writing(), atomic_dir(out, "dataset") as tmp:
        for i, tile in enumerate(tiles):
            _link_or_copy(src / tile["image"], tmp / tile["image"])
            _, valid, mask = dataset.read_tile(tile)
            with rasterio.open(src / tile["mask"]) as ds:
                profile, colormap = ds.profile, _colormap(ds)
            noisy, report = corrupt_mask(
                mask, rate, kinds, np.random.default_rng([seed, i]), num_classes,
                unlabeled_value=unlabeled_value, ignore_value=ignore_value, valid=valid,
            )
            (tmp / tile["mask"]).parent.mkdir(parents=True, exist_ok=True)
            with rasterio.open(tmp / tile["mask"], "w", **profile) as dst:
                dst.write(noisy, 1)
                if colormap:
                    dst.write_colormap(1, colormap)
            total.objects += report.objects
            for kind, count in report.touched.items():
                total.touched[kind] += count
            tile["class_histogram"] = class_histogram(noisy, ignore_value)
            tile["labeled_fraction"] = float(np.mean(noisy != ignore_value)) if noisy.size else 0.0
            tile["label_source"] = "noisy"
            reporter.progress("corrupt", i + 1, len(tiles))
        if (src / "classes.json").is_file():
            shutil.copy2(src / "classes.json", tmp / "classes.json")
        manifest["label_source"] = "noisy"
        manifest["noise"] = {"kinds": kinds, "rate": rate, "seed": seed, "source": str(src), **asdict(total)}
        write_json(tmp / MANIFEST, manifest)
    return {"dataset": str(out), "objects": total.objects, "touched": total.touched}


def _colormap(ds: rasterio.DatasetReader) -> Optional[dict]:
    try:
        return ds.colormap(1)
    except ValueError:  # no colour table
        return None


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
