"""The prediction GeoTIFFs: class ids, and optionally confidence and per-class probabilities.

All are tiled (256 x 256), deflate-compressed, in the image's CRS with the predicted window's
transform, and get internal overviews when complete. Where the input is nodata:

- classes: uint8, nodata 255, with the class colours as colour table and the class names as
  ``CLASS_<id>`` tags (rasterio 1.4 cannot write GDAL category names or attribute tables, so
  the names also go into the .qml style);
- confidence: the largest class probability, uint8 percent 0..100 with nodata 255, or float32
  0..1 with nodata -1;
- probabilities: float32, one band per class, nodata -1.
"""

from __future__ import annotations

import contextlib
import os
from typing import Optional

import numpy as np
import rasterio
from rasterio.enums import Resampling

from ..core.classes import colour_table
from ..core.outputs import GEOTIFF_TAG

BLOCK_SIZE = 256
CLASS_NODATA = 255
CONFIDENCE_NODATA = {"uint8": 255, "float32": -1.0}
PROBABILITY_NODATA = -1.0


def overview_factors(width: int, height: int) -> list[int]:
    """2, 4, 8, ... until the coarsest overview fits in one block (always at least 2)."""
    factors = [2]
    while max(width, height) / factors[-1] > BLOCK_SIZE:
        factors.append(factors[-1] * 2)
    return factors


class PredictionWriter:
    """Opens the output rasters on ``datasets`` (which closes them) and writes final rows."""

    def __init__(self, datasets: contextlib.ExitStack, georeference: dict, classes: list[dict],
                 class_path: "str | os.PathLike", *, confidence_path: "Optional[str | os.PathLike]" = None,
                 confidence_dtype: str = "uint8",
                 probabilities_path: "Optional[str | os.PathLike]" = None) -> None:
        self.confidence_dtype = confidence_dtype
        self._pending: list[dict[str, np.ndarray]] = []
        self.valid_pixels = 0
        self._pending_first_row = 0
        base = dict(driver="GTiff", tiled=True, blockxsize=BLOCK_SIZE, blockysize=BLOCK_SIZE,
                    compress="deflate", BIGTIFF="IF_SAFER", **georeference)

        self.class_raster = datasets.enter_context(rasterio.open(
            class_path, "w", count=1, dtype="uint8", nodata=CLASS_NODATA, **base))
        self.class_raster.write_colormap(1, colour_table((cls["id"], cls["color"]) for cls in classes))
        self.class_raster.update_tags(1, **{f"CLASS_{cls['id']}": cls["name"] for cls in classes})
        self.class_raster.set_band_description(1, "class")
        self.class_raster.update_tags(**{GEOTIFF_TAG: "classes"})

        self.confidence_raster = None
        if confidence_path is not None:
            self.confidence_raster = datasets.enter_context(rasterio.open(
                confidence_path, "w", count=1, dtype=confidence_dtype,
                nodata=CONFIDENCE_NODATA[confidence_dtype], **base))
            unit = "percent" if confidence_dtype == "uint8" else "fraction"
            self.confidence_raster.set_band_description(1, f"confidence ({unit})")
            self.confidence_raster.update_tags(**{GEOTIFF_TAG: "confidence"})

        self.probability_raster = None
        if probabilities_path is not None:
            self.probability_raster = datasets.enter_context(rasterio.open(
                probabilities_path, "w", count=len(classes), dtype="float32",
                nodata=PROBABILITY_NODATA, **base))
            for band, cls in enumerate(classes, start=1):
                self.probability_raster.set_band_description(band, cls["name"])
            self.probability_raster.update_tags(**{GEOTIFF_TAG: "probabilities"})

    def write_rows(self, first_row: int, probabilities: np.ndarray, valid: np.ndarray) -> None:
        """Takes final rows ``first_row..`` (consecutive with the previous call) from blended
        probabilities [classes, n, width] and the input's validity [n, width] (False = nodata).
        Rows are held until whole 256-row bands of blocks are complete, so every compressed block
        is written once (a part-written block would be written again, growing the file)."""
        invalid = ~valid
        self.valid_pixels += int(valid.sum())
        class_ids = probabilities.argmax(axis=0).astype(np.uint8)
        class_ids[invalid] = CLASS_NODATA
        layers = {"classes": class_ids[None]}
        if self.confidence_raster is not None:
            confidence = probabilities.max(axis=0)
            if self.confidence_dtype == "uint8":
                confidence = np.clip(np.rint(confidence * 100), 0, 100).astype(np.uint8)
            confidence[invalid] = CONFIDENCE_NODATA[self.confidence_dtype]
            layers["confidence"] = confidence[None]
        if self.probability_raster is not None:
            layers["probabilities"] = np.where(invalid[None], np.float32(PROBABILITY_NODATA),
                                               probabilities).astype(np.float32, copy=False)
        if not self._pending:
            self._pending_first_row = first_row
        self._pending.append(layers)
        held = sum(part["classes"].shape[1] for part in self._pending)
        complete = (self._pending_first_row + held) // BLOCK_SIZE * BLOCK_SIZE - self._pending_first_row
        if complete > 0:
            self._write_pending(complete)

    def flush(self) -> None:
        """Writes the rows still held (the last, partial band of blocks)."""
        if self._pending:
            self._write_pending(sum(part["classes"].shape[1] for part in self._pending))

    def _write_pending(self, rows: int) -> None:
        joined = {kind: np.concatenate([part[kind] for part in self._pending], axis=1) for kind in self._pending[0]}
        window = rasterio.windows.Window(0, self._pending_first_row, joined["classes"].shape[2], rows)
        for kind, raster in (("classes", self.class_raster), ("confidence", self.confidence_raster),
                             ("probabilities", self.probability_raster)):
            if raster is not None:
                # contiguous: a strided array is written band by band, and each band's write
                # rewrites the whole pixel-interleaved block
                raster.write(np.ascontiguousarray(joined[kind][:, :rows]), window=window)
        rest = {kind: array[:, rows:] for kind, array in joined.items()}
        self._pending_first_row += rows
        self._pending = [rest] if rest["classes"].shape[1] else []

    def build_overviews(self) -> None:
        self.flush()
        factors = overview_factors(self.class_raster.width, self.class_raster.height)
        self.class_raster.build_overviews(factors, Resampling.nearest)
        self.class_raster.update_tags(ns="rio_overview", resampling="nearest")
        for continuous in (self.confidence_raster, self.probability_raster):
            if continuous is not None:
                continuous.build_overviews(factors, Resampling.average)
                continuous.update_tags(ns="rio_overview", resampling="average")

