"""The imagery raster: validation, band list, and windowed reads of pixels and valid area."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Optional

import numpy as np
import rasterio
from rasterio.enums import ColorInterp
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from .errors import UserError
from .nodata import resolve_nodata

SUPPORTED_DTYPES = ("uint8", "uint16", "int16", "float32")


def open_raster(path: str | Path, what: str = "raster") -> rasterio.io.DatasetReader:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{what} {path} does not exist")
    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        raise UserError(f"{what} {path} cannot be read as a raster ({str(exc).splitlines()[0]})") from None


def require_georeferencing(src: rasterio.io.DatasetReader, what: str) -> None:
    if src.crs is None or src.transform.is_identity:
        raise UserError(f"{what} {src.name} has no georeferencing (no CRS or geotransform); "
                        "georeference it first, e.g. with the QGIS Georeferencer or gdal_translate -a_srs -a_ullr")
    if not src.transform.is_rectilinear:
        raise UserError(f"{what} {src.name} has a rotated geotransform; warp it to a north-up grid first (gdalwarp)")


def sha256_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()


def crs_label(crs) -> str:
    epsg = crs.to_epsg() if crs is not None else None
    return f"EPSG:{epsg}" if epsg else (crs.to_wkt() if crs is not None else "none")


class Imagery(contextlib.AbstractContextManager):
    """An opened imagery raster with its data bands (alpha bands excluded) and its nodata
    (``core.nodata``: ``nodata`` is the ``--nodata`` option, None for automatic)."""

    def __init__(self, path: str | Path, nodata: Optional[str] = None, reporter=None) -> None:
        self.path = Path(path).resolve()
        self.src = open_raster(self.path, "image")
        try:
            require_georeferencing(self.src, "image")
            dtypes = set(self.src.dtypes)
            if len(dtypes) != 1 or next(iter(dtypes)) not in SUPPORTED_DTYPES:
                raise UserError(f"image {self.path} has data type {', '.join(sorted(dtypes))}; supported are "
                                f"{', '.join(SUPPORTED_DTYPES)} (convert with gdal_translate -ot)")
            self.band_indexes = [i + 1 for i, ci in enumerate(self.src.colorinterp) if ci != ColorInterp.alpha]
            if not self.band_indexes:
                raise UserError(f"image {self.path} has only an alpha band")
            self.nodata = resolve_nodata(self.src, nodata, self.band_indexes, reporter)
        except BaseException:
            self.src.close()
            raise

    def __exit__(self, *exc) -> None:
        self.src.close()

    @property
    def width(self) -> int:
        return self.src.width

    @property
    def height(self) -> int:
        return self.src.height

    @property
    def dtype(self) -> str:
        return self.src.dtypes[0]

    def read(self, window: Window) -> np.ndarray:
        return self.src.read(self.band_indexes, window=window)

    def valid(self, window: Window, pixels: Optional[np.ndarray] = None) -> np.ndarray:
        """True where the pixel is data (``core.nodata``); ``pixels``: the window's data bands,
        when the caller has read them already."""
        return self.nodata.valid(self.src, window, pixels, self.band_indexes)

    def bands(self) -> list[dict]:
        out = []
        for i in self.band_indexes:
            name = self.src.descriptions[i - 1] or self.src.colorinterp[i - 1].name
            out.append({"index": i, "name": name if name not in ("undefined", "gray") else f"band{i}"})
        return out

    def describe(self) -> dict:
        return {
            "path": str(self.path),
            "sha256": sha256_of([self.path]),
            "width": self.width,
            "height": self.height,
            "count": len(self.band_indexes),
            "dtype": self.dtype,
            "nodata": self.nodata.value if self.nodata.source != "none" else None,
            "nodata_source": self.nodata.describe(),
            "transform": list(self.src.transform)[:6],
            "bands": self.bands(),
        }
