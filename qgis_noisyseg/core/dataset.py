"""The dataset folder: ``manifest.json`` plus image and mask tiles (see docs/contracts.md).

Importable without rasterio (numpy only): the QGIS side reads the manifest through
:class:`Dataset` (gui/annotation/); only the methods that read rasters import rasterio.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np

from ..spec.names import MANIFEST  # noqa: F401 - importers read it here too
from .classes import ClassMap
from .errors import UserError
from .validate import check_manifest, check_tile, gdal_damage_reports, open_failure

FORMAT = "noisyseg-dataset"
FORMAT_VERSION = 1


def mask_profile(transform, crs, size: int) -> dict:
    return {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8", "nodata": 255,
            "crs": crs, "transform": transform, "compress": "zstd", "zstd_level": 1}


class NotADataset(UserError):
    """The folder holds no noisyseg dataset: it is missing, or its manifest.json is missing, is
    not JSON or is not a dataset manifest. ``detail`` says what was wrong with manifest.json
    (None when it is another kind of file)."""

    def __init__(self, message: str, detail: Optional[str] = None) -> None:
        super().__init__(message)
        self.detail = detail


class Dataset:
    """A read-only view of a dataset folder: the manifest, checked (``core.validate``), and the
    tiles' rasters, read on demand."""

    def __init__(self, root: str | Path, require: tuple = ("image", "band_stats")) -> None:
        """``require``: the manifest entries the command needs besides classes, tiles and
        tile size (``core.validate``); those present are checked either way."""
        self.root = Path(root)
        manifest_path = self.root / MANIFEST
        if not self.root.is_dir():
            raise NotADataset(f"dataset {self.root} does not exist", "no such folder")
        if not manifest_path.is_file():
            raise NotADataset(f"{self.root} is not a noisyseg dataset (no {MANIFEST}); create one with `noisyseg export`",
                              "missing")
        try:
            self.manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise NotADataset(f"{manifest_path} is not valid JSON ({exc})", f"not valid JSON ({exc})") from None
        except OSError as exc:
            raise NotADataset(f"{manifest_path} cannot be read ({exc.strerror}); make it readable",
                              f"cannot be read ({exc.strerror})") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise NotADataset(f"{manifest_path} is not a noisyseg dataset manifest")
        version = self.manifest.get("format_version", 0)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise UserError(f"{manifest_path} was written by a newer qgis_noisyseg (format "
                            f"{self.manifest['format_version']}); upgrade the plugin")
        check_manifest(self.root, self.manifest, require)
        self.classes = ClassMap.from_json({"classes": self.manifest["classes"]}, source=str(manifest_path))

    @property
    def tiles(self) -> list[dict]:
        return self.manifest["tiles"]

    def split(self, name: Optional[str]) -> list[dict]:
        return [t for t in self.tiles if name is None or t["split"] == name]

    def class_named(self, text: str, option: str) -> int:
        """The id of the class named (or numbered) ``text``; a one-line error naming ``option`` if none is."""
        for c in self.manifest["classes"]:
            if text.strip() in (c["name"], str(c["id"])):
                return int(c["id"])
        names = ", ".join(c["name"] for c in self.manifest["classes"])
        raise UserError(f"{option} {text!r} is not a class of {self.root} ({names})")

    @property
    def ignore_index(self) -> int:
        return int(self.manifest.get("ignore_index", 255))

    @property
    def in_channels(self) -> int:
        return int(self.manifest["image"]["count"])

    def read_tile(self, tile: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pixels [bands, H, W], valid [H, W] bool, mask [H, W] uint8), one open per file,
        checked against the manifest (``core.validate``): a damaged tile is a one-line error
        naming it."""
        import rasterio
        from rasterio.errors import RasterioError

        try:
            with gdal_damage_reports(self.root, tile, "image"), rasterio.open(self.root / tile["image"]) as src:
                pixels, valid = src.read(), src.dataset_mask() > 0
        except (RasterioError, OSError) as exc:
            raise open_failure(self.root, tile, "image", exc) from None
        if pixels.dtype.kind == "f":  # NaN and infinity are nodata, whatever the file says
            valid &= np.isfinite(pixels).all(axis=0)
        try:
            with gdal_damage_reports(self.root, tile, "mask"), rasterio.open(self.root / tile["mask"]) as src:
                mask = src.read(1)
        except (RasterioError, OSError) as exc:
            raise open_failure(self.root, tile, "mask", exc) from None
        check_tile(self.root, self.manifest, tile, pixels, mask, self.classes.num_classes, self.ignore_index)
        return pixels, valid, mask

    def check_tiles(self, tiles: Optional[list[dict]] = None) -> None:
        """Reads and checks every tile (of ``tiles``) now, for a command that would otherwise
        meet a damaged one only hours later (a study)."""
        for tile in self.tiles if tiles is None else tiles:
            self.read_tile(tile)

    def read_mask(self, tile: dict) -> tuple[np.ndarray, dict]:
        """(mask [H, W] uint8, its rasterio profile), checked like ``read_tile``'s."""
        import rasterio
        from rasterio.errors import RasterioError

        try:
            with rasterio.open(self.root / tile["mask"]) as src:
                return src.read(1), src.profile
        except (RasterioError, OSError) as exc:
            raise open_failure(self.root, tile, "mask", exc) from None


def class_pixels(tiles: list[dict]) -> dict[int, int]:
    """Labelled pixels per class id over ``tiles`` (from their manifest histograms; ignore left out)."""
    counts: dict[int, int] = {}
    for tile in tiles:
        for class_id, count in tile.get("class_histogram", {}).items():
            counts[int(class_id)] = counts.get(int(class_id), 0) + int(count)
    return counts


def tiles_containing(tiles: list[dict], class_id: int) -> list[dict]:
    """The tiles whose labels have pixels of ``class_id`` (from their manifest histograms)."""
    return [t for t in tiles if t.get("class_histogram", {}).get(str(class_id), 0) > 0]


def class_histogram(mask: np.ndarray, ignore: int = 255) -> dict[str, int]:
    counts = np.bincount(mask.ravel(), minlength=256)
    return {str(i): int(c) for i, c in enumerate(counts) if c and i != ignore}


def image_band_stats(src, band_indexes, nodata, step: int = 4, strip: int = 256, max_strips: int = 64) -> dict:
    """Per-band mean and std of an open raster's valid pixels (``nodata``: a ``core.nodata.Nodata``),
    from every ``step``-th pixel of at most ``max_strips`` evenly spaced strips of ``strip`` rows:
    the statistics by which a model with the "image" normalisation scheme standardises it."""
    from rasterio.windows import Window

    stats = RunningBandStats(len(band_indexes))
    starts = list(range(0, src.height, strip))
    every = max(1, -(-len(starts) // max_strips))
    for row in starts[::every]:
        window = Window(0, row, src.width, min(strip, src.height - row))
        pixels = src.read(band_indexes, window=window)
        valid = nodata.valid(src, window, pixels, band_indexes=band_indexes)
        stats.add(pixels[:, ::step, ::step], valid[::step, ::step])
    return stats.result()


class RunningBandStats:
    """Per-band mean and standard deviation over valid pixels, merged tile by tile (Chan et al.)."""

    def __init__(self, bands: int) -> None:
        self.count = 0
        self.mean = np.zeros(bands)
        self.m2 = np.zeros(bands)

    def add(self, pixels: np.ndarray, valid: np.ndarray) -> None:
        values = pixels[:, valid].astype(np.float64)
        n = values.shape[1]
        if n == 0:
            return
        mean = values.mean(axis=1)
        m2 = ((values - mean[:, None]) ** 2).sum(axis=1)
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * n / total
        self.m2 = self.m2 + m2 + delta**2 * self.count * n / total
        self.count = total

    def result(self) -> dict:
        std = np.sqrt(self.m2 / max(self.count - 1, 1))
        return {"mean": self.mean.tolist(), "std": np.maximum(std, 1e-6).tolist(), "pixels": int(self.count)}

