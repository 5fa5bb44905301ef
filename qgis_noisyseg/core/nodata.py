"""Which pixels of an image are data: nodata as a GIS operator expects it.

In order:

- ``--nodata VALUE``: pixels equal to VALUE in every band are nodata, whatever the file says;
  ``--nodata none``: the file's nodata tag is ignored, and nothing is detected.
- Otherwise the file's own nodata tag, alpha band or mask.
- Otherwise, when the image has none of these, a **collar**: pixels equal in every band to 0 or
  255 that reach the image's edge (as GDAL's ``nearblack`` finds them: scanning each row from
  both ends and each column from both ends until the first pixel that differs), when it covers
  more than ``COLLAR_MIN_FRACTION`` of the image. Orthomosaics and warped scenes are delivered
  with such a black (or white) border and no tag; treating it as data teaches a model that
  black is a class and skews the band statistics. Dark pixels inside the image (water, shadow)
  are kept: a scan stops at the first pixel that is not the collar value.
- NaN and infinity are nodata in every case.

The collar is kept as four run lengths per row and column, so memory is O(width + height)
whatever the raster's size, and a window's mask is computed from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from rasterio.enums import ColorInterp, MaskFlags
from rasterio.windows import Window

from .errors import UserError

COLLAR_VALUES = (0, 255)
COLLAR_MIN_FRACTION = 0.01
SCAN_ROWS = 256
NONE = "none"


@dataclass
class Collar:
    """The collar of one value: per row, how many pixels from the left and right edges; per
    column, how many from the top and bottom."""

    value: float
    left: np.ndarray
    right: np.ndarray
    top: np.ndarray
    bottom: np.ndarray

    @property
    def width(self) -> int:
        return len(self.top)

    @property
    def height(self) -> int:
        return len(self.left)

    def mask(self, window: Window) -> np.ndarray:
        """True on the collar pixels of ``window`` (image pixel coordinates)."""
        row0, col0 = int(window.row_off), int(window.col_off)
        rows = np.arange(row0, row0 + int(window.height))
        cols = np.arange(col0, col0 + int(window.width))
        inside_rows = (rows >= 0) & (rows < self.height)
        inside_cols = (cols >= 0) & (cols < self.width)
        r = np.clip(rows, 0, self.height - 1)
        c = np.clip(cols, 0, self.width - 1)
        from_sides = (cols[None, :] < self.left[r][:, None]) | (cols[None, :] >= self.width - self.right[r][:, None])
        from_ends = (rows[:, None] < self.top[c][None, :]) | (rows[:, None] >= self.height - self.bottom[c][None, :])
        return (from_sides | from_ends) & inside_rows[:, None] & inside_cols[None, :]

    def fraction(self) -> float:
        pixels = 0
        for row in range(0, self.height, SCAN_ROWS):
            pixels += int(self.mask(Window(0, row, self.width, min(SCAN_ROWS, self.height - row))).sum())
        return pixels / (self.width * self.height)


@dataclass
class Nodata:
    """How one image's valid pixels are found; ``describe()`` is what the manifest records."""

    source: str  # "file" (its tag, alpha or mask), "value" (--nodata VALUE), "none" (--nodata none), "collar"
    value: Optional[float] = None
    collar: Optional[Collar] = None
    collar_fraction: float = 0.0
    use_file_mask: bool = True
    float_data: bool = False
    notes: list = field(default_factory=list)
    mask: Optional[str] = None  # with source "file" and no value: "alpha", "mask" or "none" (the file has neither)

    def valid(self, src, window: Window, pixels: Optional[np.ndarray] = None, band_indexes=None) -> np.ndarray:
        """True where the pixel of ``window`` is data. ``pixels`` ([bands, h, w], the data bands)
        spares a second read when the caller has them."""
        height, width = int(window.height), int(window.width)
        if self.use_file_mask:
            valid = src.dataset_mask(window=window) > 0
        elif _has_alpha_or_mask(src):
            valid = src.dataset_mask(window=window) > 0
        else:
            valid = np.ones((height, width), dtype=bool)
        if self.value is not None or self.float_data:
            if pixels is None:
                pixels = src.read(band_indexes or data_bands(src), window=window)
            if self.float_data:
                valid &= np.isfinite(pixels).all(axis=0)
            if self.value is not None:
                valid &= ~(pixels == self.value).all(axis=0)
        if self.collar is not None:
            valid &= ~self.collar.mask(window)
        return valid

    def describe(self) -> dict:
        record = {"source": self.source, "value": self.value}
        if self.mask is not None:
            record["mask"] = self.mask
        if self.collar is not None:
            record["collar_fraction"] = round(self.collar_fraction, 6)
        return record

    def message(self) -> Optional[str]:
        """The one line an operator should read about it, if any."""
        if self.collar is None:
            return None
        colour = "black" if self.value == 0 else "white"
        return (f"treating the {colour} border ({self.collar_fraction:.0%} of pixels, value {self.value:g} in every "
                "band) as nodata; pass --nodata none to keep it")


def data_bands(src) -> list[int]:
    return [i + 1 for i, ci in enumerate(src.colorinterp) if ci != ColorInterp.alpha]


def parse_nodata(text: Optional[str], dtype: str) -> Optional[object]:
    """None (automatic), ``NONE``, or a number that the image's data type can hold."""
    if text is None or str(text).strip().lower() in ("", "auto"):
        return None
    text = str(text).strip()
    if text.lower() == NONE:
        return NONE
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--nodata {text!r} is not a number; give a pixel value such as 0, or 'none'") from None
    kind = np.dtype(dtype)
    if kind.kind in "ui":
        info = np.iinfo(kind)
        if not (math.isfinite(value) and value == int(value) and info.min <= value <= info.max):
            raise UserError(f"--nodata {text} does not fit the image's data type {dtype} "
                            f"(whole numbers from {info.min} to {info.max})")
        return int(value)
    if math.isnan(value):
        return None  # NaN is nodata anyway
    return value


def resolve_nodata(src, option: Optional[str] = None, band_indexes=None, reporter=None) -> Nodata:
    """The nodata of an open image (see the module's docstring). Raises a UserError when no
    pixel would be left."""
    bands = band_indexes or data_bands(src)
    dtype = src.dtypes[bands[0] - 1]
    float_data = np.dtype(dtype).kind in "fc"
    parsed = parse_nodata(option, dtype)
    if parsed == NONE:
        nodata = Nodata("none", use_file_mask=False, float_data=float_data)
    elif parsed is not None:
        nodata = Nodata("value", value=float(parsed), use_file_mask=False, float_data=float_data)
    elif _has_file_nodata(src):
        nodata = Nodata("file", value=None, float_data=float_data)
        if src.nodata is not None and not (isinstance(src.nodata, float) and math.isnan(src.nodata)):
            nodata.value = float(src.nodata)
        else:
            nodata.mask = "alpha" if ColorInterp.alpha in src.colorinterp else "mask"
    else:
        nodata = Nodata("file", float_data=float_data, mask="none")
        collar = detect_collar(src, bands)
        if collar is not None:
            nodata = Nodata("collar", value=collar.value, collar=collar, collar_fraction=collar.fraction(),
                            use_file_mask=True, float_data=float_data)
            if nodata.collar_fraction >= 1.0:
                raise UserError(f"image {src.name} holds no data: every pixel is {collar.value:g} in every band; "
                                "pass --nodata none to use it anyway")
            if reporter is not None:
                reporter.warning(nodata.message())
    return nodata


def _has_file_nodata(src) -> bool:
    return any(MaskFlags.all_valid not in flags for flags in src.mask_flag_enums)


def _has_alpha_or_mask(src) -> bool:
    return any(MaskFlags.per_dataset in flags or MaskFlags.alpha in flags for flags in src.mask_flag_enums)


def detect_collar(src, bands) -> Optional[Collar]:
    """The collar of 0 or 255 (whichever covers more), or None when neither reaches
    ``COLLAR_MIN_FRACTION``. A look at the four edges first: most images have no collar, and
    then the scan of the whole image is skipped."""
    dtype = np.dtype(src.dtypes[bands[0] - 1])
    candidates = [v for v in COLLAR_VALUES if _fits(v, dtype) and _on_edges(src, bands, v)]
    if not candidates:
        return None
    height, width = src.height, src.width
    scans = {v: _Scan(v, height, width) for v in candidates}
    for row in range(0, height, SCAN_ROWS):
        window = Window(0, row, width, min(SCAN_ROWS, height - row))
        pixels = src.read(bands, window=window)
        for scan in scans.values():
            scan.add(row, (pixels == scan.value).all(axis=0))
    best = None
    for scan in scans.values():
        collar = scan.result()
        fraction = collar.fraction()
        if fraction > COLLAR_MIN_FRACTION and (best is None or fraction > best[1]):
            best = (collar, fraction)
    return None if best is None else best[0]


def _fits(value: float, dtype: np.dtype) -> bool:
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return info.min <= value <= info.max
    return True


def _on_edges(src, bands, value) -> bool:
    h, w = src.height, src.width
    for window in (Window(0, 0, w, 1), Window(0, h - 1, w, 1), Window(0, 0, 1, h), Window(w - 1, 0, 1, h)):
        if (src.read(bands, window=window) == value).all(axis=0).any():
            return True
    return False


class _Scan:
    """Run lengths of one collar value, accumulated strip by strip from the top."""

    def __init__(self, value: float, height: int, width: int) -> None:
        self.value, self.height, self.width = value, height, width
        self.left = np.zeros(height, dtype=np.int64)
        self.right = np.zeros(height, dtype=np.int64)
        self.top = np.zeros(width, dtype=np.int64)
        self.open_top = np.ones(width, dtype=bool)  # columns whose collar from the top continues
        self.last_data_row = np.full(width, -1, dtype=np.int64)

    def add(self, row0: int, equal: np.ndarray) -> None:
        rows = equal.shape[0]
        data = ~equal
        any_data = data.any(axis=1)
        first = np.where(any_data, data.argmax(axis=1), self.width)
        last = np.where(any_data, self.width - 1 - data[:, ::-1].argmax(axis=1), -1)
        self.left[row0:row0 + rows] = first
        self.right[row0:row0 + rows] = np.where(any_data, self.width - 1 - last, self.width)
        column_has_data = data.any(axis=0)
        first_data_row = np.where(column_has_data, data.argmax(axis=0), rows)
        self.top[self.open_top] += first_data_row[self.open_top]
        self.open_top &= ~column_has_data
        last_in_strip = np.where(column_has_data, rows - 1 - data[::-1].argmax(axis=0), -1)
        self.last_data_row = np.where(column_has_data, row0 + last_in_strip, self.last_data_row)

    def result(self) -> Collar:
        bottom = self.height - 1 - self.last_data_row  # a column with no data: the whole height
        return Collar(self.value, self.left, self.right, np.minimum(self.top, self.height), bottom)
