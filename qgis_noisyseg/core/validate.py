"""The one check of a dataset folder, used by every command that reads one (issue 16).

A dataset arrives from somewhere else (another machine, a colleague, a half-finished copy), so
nothing in it is trusted. ``check_manifest`` runs the cheap checks up front, before a command
does any work: the manifest's keys and their types, every tile entry, every tile path inside
the folder, present and readable. ``check_tile`` runs on each tile as it is read (reading
every tile up front would double the cost of a training run): size, bands, data type, and mask
values within the classes or ignore. Every failure is a ``UserError`` of one line naming the
dataset, the file, the tile and the fix.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import UserError

SPLITS = ("train", "val", "test")
REEXPORT = "re-export the dataset or delete the tile from manifest.json"


def _fail(root: Path, message: str, fix: str = "re-export the dataset with `noisyseg export`") -> UserError:
    return UserError(f"dataset {root}: {message}; {fix}")


def _require(manifest: dict, key: str, kinds: tuple, root: Path, noun: str) -> Any:
    if key not in manifest:
        raise _fail(root, f"manifest.json has no {key!r} ({noun})")
    value = manifest[key]
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise _fail(root, f"manifest.json's {key!r} is {type(value).__name__}, not {noun}")
    return value


def _finite_list(value: Any, length: int) -> bool:
    return (isinstance(value, list) and len(value) == length
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value))


def check_manifest(root: Path, manifest: dict, require: tuple = ("image", "band_stats")) -> None:
    """Keys, types and every tile entry of ``manifest`` (the parsed manifest.json of ``root``).
    Needs no raster read: one ``stat`` per tile file. ``image`` and ``band_stats`` are needed by
    the commands that read pixels into a model (``require``); when present they are checked."""
    if not isinstance(manifest, dict):
        raise _fail(root, "manifest.json is not a JSON object")
    _require(manifest, "classes", (list,), root, "a list of classes")
    tiles = _require(manifest, "tiles", (list,), root, "a list of tiles")
    tile_size = _require(manifest, "tile_size", (int,), root, "the tile size in pixels")
    if tile_size < 1:
        raise _fail(root, f"manifest.json's tile_size is {tile_size}")
    if "image" in require or "image" in manifest:
        _check_image(root, manifest, require)
    _check_tiles(root, manifest, tiles)


def _check_image(root: Path, manifest: dict, require: tuple) -> None:
    image = _require(manifest, "image", (dict,), root, "a description of the imagery")
    count = image.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise _fail(root, f"manifest.json's image.count is {count!r}, not a band count")
    dtype = image.get("dtype")
    try:
        if not isinstance(dtype, str):
            raise TypeError(dtype)
        np.dtype(dtype)
    except TypeError:
        raise _fail(root, f"manifest.json's image.dtype is {dtype!r}, not a data type") from None
    if "band_stats" not in require and "band_stats" not in manifest:
        return
    stats = _require(manifest, "band_stats", (dict,), root, "the band statistics")
    if not _finite_list(stats.get("mean"), count) or not _finite_list(stats.get("std"), count):
        raise _fail(root, f"manifest.json's band_stats needs {count} finite 'mean' and 'std' values, one per band")
    if any(s <= 0 for s in stats["std"]):
        raise _fail(root, "manifest.json's band_stats has a std of 0 or less")


def _check_tiles(root: Path, manifest: dict, tiles: list) -> None:
    ignore = manifest.get("ignore_index", 255)
    if not isinstance(ignore, int) or isinstance(ignore, bool) or not 0 <= ignore <= 255:
        raise _fail(root, f"manifest.json's ignore_index is {ignore!r}, not a value 0..255")
    class_ids = {int(c["id"]) for c in manifest["classes"]
                 if isinstance(c, dict) and str(c.get("id")).isdigit()} | {0}  # background is implied
    real_root = Path(os.path.realpath(root))
    folders: dict = {}
    seen: set = set()
    for number, tile in enumerate(tiles, start=1):
        if not isinstance(tile, dict):
            raise _fail(root, f"tile entry {number} of manifest.json is not an object")
        tile_id = tile.get("id")
        if not isinstance(tile_id, str) or not tile_id:
            raise _fail(root, f"tile entry {number} of manifest.json has no id")
        if tile_id in seen:
            raise _fail(root, f"tile {tile_id} is listed twice in manifest.json", REEXPORT)
        seen.add(tile_id)
        if tile.get("split") not in SPLITS:
            raise _fail(root, f"tile {tile_id} has split {tile.get('split')!r}, not train, val or test", REEXPORT)
        for key in ("image", "mask"):
            check_tile_path(root, real_root, tile, key, folders)
        histogram = tile.get("class_histogram", {})
        if not isinstance(histogram, dict):
            raise _fail(root, f"tile {tile_id}'s class_histogram is not an object", REEXPORT)
        for key, value in histogram.items():
            if not key.isdigit() or int(key) not in class_ids or not isinstance(value, int) or value < 0:
                raise _fail(root, f"tile {tile_id} counts pixels of class {key!r}, which is not one of the manifest's "
                                  f"classes (the classes do not match the masks)")


def check_tile_path(root: Path, real_root: Path, tile: dict, key: str, _real_folders: dict | None = None) -> str:
    """``root / tile[key]``, refused unless it is a relative path to a readable file inside ``root``
    (symbolic links resolved: a dataset's paths must not reach outside it). ``_real_folders``
    caches the resolved folders (images/, masks/), so a tile costs one ``lstat`` unless it is a link."""
    tile_id = tile["id"]
    text = tile.get(key)
    if not isinstance(text, str) or not text:
        raise _fail(root, f"tile {tile_id} has no {key} path in manifest.json", REEXPORT)
    if os.path.isabs(text) or ".." in text.replace("\\", "/").split("/") or (os.name == "nt" and os.path.splitdrive(text)[0]):
        raise _fail(root, f"tile {tile_id}'s {key} {text!r} points outside the dataset folder; a dataset's paths "
                          "must be relative paths inside it", REEXPORT)
    folders = {} if _real_folders is None else _real_folders
    if "" not in folders:
        folders[""] = (os.fspath(root), os.path.join(os.fspath(real_root), ""))
    root_text, real_prefix = folders[""]
    path = root_text + os.sep + text
    parent, name = os.path.split(path)
    if parent not in folders:
        folders[parent] = os.path.realpath(parent) + os.sep
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise _fail(root, f"{text} is missing (tile {tile_id})", REEXPORT) from None
    except OSError as exc:
        raise _fail(root, f"{text} cannot be read ({exc.strerror}) (tile {tile_id})",
                    "make it readable, re-export the dataset or delete the tile from manifest.json") from None
    real = os.path.realpath(path) if stat.S_ISLNK(info.st_mode) else folders[parent] + name
    if not real.startswith(real_prefix):
        raise _fail(root, f"{text} is a link to {real}, outside the dataset folder (tile {tile_id})", REEXPORT)
    if stat.S_ISLNK(info.st_mode):
        try:
            info = os.stat(path)
        except OSError:
            raise _fail(root, f"{text} is a broken link (tile {tile_id})", REEXPORT) from None
    if not stat.S_ISREG(info.st_mode):
        raise _fail(root, f"{text} is not a file (tile {tile_id})", REEXPORT)
    if info.st_size == 0:
        raise _fail(root, f"{text} is empty (tile {tile_id})", REEXPORT)
    if not os.access(path, os.R_OK):
        raise _fail(root, f"{text} cannot be read (permission denied) (tile {tile_id})",
                    "make it readable, re-export the dataset or delete the tile from manifest.json")
    return path


def open_failure(root: Path, tile: dict, key: str, exc: BaseException) -> UserError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    reason = reason.replace(str(root / tile[key]), "").strip(": ") or type(exc).__name__
    if isinstance(exc, PermissionError) or "ermission denied" in reason:
        return _fail(root, f"{tile[key]} cannot be read (permission denied) (tile {tile['id']})",
                     "make it readable, re-export the dataset or delete the tile from manifest.json")
    return _fail(root, f"{tile[key]} is damaged or not a GeoTIFF ({reason}) (tile {tile['id']})", REEXPORT)


# What libtiff says, through GDAL's warnings, of a file cut short or overwritten: GDAL reads on
# (the tags it lost are ignored, missing strips may read as zeros), so a warning is the only sign.
_DAMAGE = re.compile(r"IO error|TIFFRead|TIFFFetch|Read error|cannot read|corrupt|truncated", re.I)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def gdal_damage_reports(root: Path, tile: dict, key: str) -> Iterator[None]:
    """Around the read of ``tile[key]``: a GDAL warning that the file is damaged is a one-line error."""
    collect = _Collect()
    logger = logging.getLogger("rasterio._env")
    logger.addHandler(collect)
    try:
        yield
    finally:
        logger.removeHandler(collect)
    damage = next((m for m in collect.messages if _DAMAGE.search(m)), None)
    if damage is not None:
        raise _fail(root, f"{tile[key]} is damaged or cut short (GDAL: {damage.split(':', 1)[-1].strip()[:80]}) "
                          f"(tile {tile['id']})", REEXPORT)


def check_tile(root: Path, manifest: dict, tile: dict, pixels: np.ndarray, mask: np.ndarray,
               num_classes: int, ignore: int) -> None:
    """The pixels and mask of ``tile`` as read: the manifest's size, bands and data type, and mask
    values that are classes of the dataset or ``ignore``."""
    size = int(manifest["tile_size"])
    window = tile.get("window") or {}
    height, width = int(window.get("height", size)), int(window.get("width", size))
    image = manifest.get("image") or {"count": pixels.shape[0], "dtype": str(pixels.dtype)}
    tile_id = tile["id"]
    if pixels.shape[1:] != (height, width):
        raise _fail(root, f"{tile['image']} is {pixels.shape[2]} x {pixels.shape[1]} px, not the manifest's "
                          f"{width} x {height} (tile {tile_id})", REEXPORT)
    if pixels.shape[0] != int(image["count"]):
        raise _fail(root, f"{tile['image']} has {pixels.shape[0]} bands, not the manifest's {image['count']} "
                          f"(tile {tile_id})", REEXPORT)
    if pixels.dtype != np.dtype(image["dtype"]):
        raise _fail(root, f"{tile['image']} holds {pixels.dtype}, not the manifest's {image['dtype']} "
                          f"(tile {tile_id})", REEXPORT)
    if mask.shape != (height, width):
        raise _fail(root, f"{tile['mask']} is {mask.shape[1]} x {mask.shape[0]} px, not the manifest's "
                          f"{width} x {height} (tile {tile_id})", REEXPORT)
    if mask.dtype != np.uint8:
        raise _fail(root, f"{tile['mask']} holds {mask.dtype}, not uint8 class ids (tile {tile_id})", REEXPORT)
    bad = (mask >= num_classes) & (mask != ignore)
    if bad.any():
        values = sorted(int(v) for v in np.unique(mask[bad]))
        listed = ", ".join(map(str, values[:5])) + (" ..." if len(values) > 5 else "")
        raise _fail(root, f"{tile['mask']} holds class values {listed}, but the dataset has {num_classes} classes "
                          f"(0..{num_classes - 1}) and ignore {ignore} (tile {tile_id})", REEXPORT)
