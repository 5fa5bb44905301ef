"""Streamed sliding-window prediction of a whole raster (or an extent of it).

Tiles (see grid.py) are predicted strip by strip (one row of tiles), in batches that stay within
the strip; their softmax probabilities, weighted by the blending window (blending.py), are summed
into a buffer one tile tall (accumulator.py). When a strip is done, the rows above the next strip
are final: they are normalised by the weight sum, turned into class ids / confidence /
probabilities, and handed to the writer, which holds them until whole 256-row bands of output
blocks are complete, so that each compressed block is written once. Memory is
O(width x tile x classes), independent of the raster's height.

Every output goes to a temporary name beside its target and is renamed only when the run
completes, so a failed or cancelled run leaves nothing under the final names.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np
import rasterio
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from ..core.atomic import atomic_file
from ..core.errors import UserError
from ..core.dataset import image_band_stats
from ..core.imagery import SUPPORTED_DTYPES
from ..core.oserrors import require_free_space
from ..core.nodata import Nodata, parse_nodata, resolve_nodata
from ..core.progress import Reporter
from .accumulator import StripAccumulator
from .grid import TileLayout, check_tiling, extent_window
from .model import OnnxSegmenter, softmax  # noqa: F401  (softmax: here before it moved to model.py)
from .qml import write_class_qml, write_confidence_qml
from .writers import PredictionWriter

CONFIDENCE_DTYPES = ("uint8", "float32")
RESOLUTION_TOLERANCE = 0.1  # relative difference before the resolution warning
# Output blocks are written whole (writers.py) and input windows are read once, so a large GDAL
# block cache (its default is 5 % of RAM) would only make memory grow with the raster.
GDAL_CACHE_MB = 64
MAX_TILES = 250_000  # more needs --force (commands/predict.py says the same)
# What an output costs per pixel of the image on disk, deflate-compressed, overviews included.
# Measured on the Denmark scene (452 x 413 px, 7 classes): class ids 60 KB (0.32 B/px), uint8
# confidence 83 KB (0.44), float32 probabilities 5.68 MB (4.35 per class).
CLASS_BYTES, CONFIDENCE_BYTES, FLOAT_BYTES, STYLE_BYTES = 0.35, 0.45, 4.4, 16384


def predict_raster(
    segmenter: OnnxSegmenter,
    image_path: "str | os.PathLike | rasterio.io.DatasetReaderBase",
    out_path: "str | os.PathLike",
    *,
    confidence_path: "Optional[str | os.PathLike]" = None,
    confidence_dtype: str = "uint8",
    probabilities_path: "Optional[str | os.PathLike]" = None,
    extent: Optional[Sequence[float]] = None,
    tile: Optional[int] = None,
    overlap: Optional[int] = None,
    batch_size: int = 4,
    nodata: Optional[str] = None,
    aoi=None,
    force: bool = False,
    reporter: Optional[Reporter] = None,
) -> dict[str, str]:
    """Predicts ``image_path`` (a path, or an open dataset such as a WarpedVRT; within ``extent``, xmin, ymin, xmax, ymax in the image's CRS)
    into ``out_path`` (uint8 class ids) plus its ``.qml`` style, and optionally a confidence
    and a probabilities raster. With ``aoi`` (a ``core.aoi.AreaOfInterest`` in the image's CRS),
    only the tiles that meet it are predicted, the output covers its bounds, and pixels outside
    it are nodata. Returns the written paths by kind."""
    tile = segmenter.tile_size if tile is None else int(tile)
    overlap = segmenter.overlap if overlap is None else int(overlap)
    check_tiling(tile, overlap)
    if segmenter.input_size is not None and (tile, tile) != segmenter.input_size:
        raise UserError(f"tile size {tile}: this model takes {segmenter.input_size[0]} px tiles only (its input size is "
                        f"fixed); leave the tile size at the model's, or export it again with export-onnx --tile {tile}")
    if confidence_dtype not in CONFIDENCE_DTYPES:
        raise UserError(f"confidence dtype {confidence_dtype!r} must be one of {', '.join(CONFIDENCE_DTYPES)}")
    if batch_size < 1:
        raise UserError(f"batch size {batch_size} must be at least 1")
    targets = _output_targets(image_path, out_path, confidence_path, probabilities_path)

    with _open_image(image_path) as image:
        band_indexes = _model_bands(image, segmenter, image_path)
        image_nodata = resolve_nodata(image, nodata, band_indexes, reporter)
        if segmenter.metadata.scheme == "image":
            stats = image_band_stats(image, band_indexes, image_nodata)
            if stats["pixels"] == 0:
                raise UserError(f"{image_path}: no pixel of the image is data (nodata: {image_nodata.source}); "
                                "check --nodata")
            segmenter = segmenter.standardised_by(stats["mean"], stats["std"])
        window = Window(0, 0, image.width, image.height)
        if extent is not None:
            window = extent_window(image.transform, image.width, image.height, extent)
        if aoi is not None:
            window = aoi_window(aoi, image, window)
        if reporter is not None:
            _warn_on_resolution_mismatch(image, segmenter, reporter)
        layout = TileLayout.plan(window.height, window.width, tile, overlap)
        check_budget(layout, segmenter.num_classes, targets, confidence_dtype, force)
        georeference = {"crs": image.crs, "transform": image.window_transform(window),
                        "width": window.width, "height": window.height}

        with contextlib.ExitStack() as renames:
            renames.enter_context(rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2**20))  # bytes: small numbers are not MB here
            temporary = {kind: renames.enter_context(atomic_file(path)) for kind, path in targets.items()}
            with contextlib.ExitStack() as datasets:
                writer = PredictionWriter(
                    datasets, georeference, segmenter.classes, temporary["classes"],
                    confidence_path=temporary.get("confidence"), confidence_dtype=confidence_dtype,
                    probabilities_path=temporary.get("probabilities"))
                _predict_tiles(segmenter, image, band_indexes, image_nodata, window, layout, writer, batch_size, reporter,
                               aoi)
                if writer.valid_pixels == 0:
                    raise UserError(f"{image_path}: no pixel of the predicted area is data (nodata: "
                                    f"{image_nodata.source}); check --nodata and --extent")
                writer.build_overviews()
            write_class_qml(temporary["style"], segmenter.classes)
            if "confidence_style" in temporary:
                write_confidence_qml(temporary["confidence_style"], 100 if confidence_dtype == "uint8" else 1)
    return {kind: str(path) for kind, path in targets.items()}


def check_budget(layout: TileLayout, classes: int, targets: dict, confidence_dtype: str, force: bool) -> None:
    """Refuses, before anything is written, more than ``MAX_TILES`` tiles and outputs that cannot
    fit the free space of their folder, unless ``force``."""
    if force:
        return
    tiles = len(layout.row_origins) * len(layout.col_origins)
    if tiles > MAX_TILES:
        raise UserError(f"this prediction would run {tiles:,} tiles, more than {MAX_TILES:,}; predict an --extent, "
                        "use a larger --tile or a smaller --overlap, or pass --force")
    pixels = layout.height * layout.width
    bytes_per_pixel = {"classes": CLASS_BYTES,
                       "confidence": CONFIDENCE_BYTES if confidence_dtype == "uint8" else FLOAT_BYTES,
                       "probabilities": FLOAT_BYTES * classes}
    needed: dict[Path, float] = {}
    for kind, path in targets.items():
        folder = Path(path).resolve().parent
        needed[folder] = needed.get(folder, 0.0) + pixels * bytes_per_pixel.get(kind, 0.0) + STYLE_BYTES
    for folder, size in needed.items():
        require_free_space(folder, int(size), "the prediction")


def _predict_tiles(segmenter: OnnxSegmenter, image: rasterio.DatasetReader, band_indexes: list[int],
                   nodata: Nodata, window: Window, layout: TileLayout, writer: PredictionWriter, batch_size: int,
                   reporter: Optional[Reporter], aoi=None) -> None:
    """Strip by strip (one row of tiles), in batches that stay within the strip; when a strip is
    done, the rows above the next strip are final and are written. Tiles that miss ``aoi`` are
    skipped; their pixels are outside it, hence nodata."""
    valid_height, valid_width = layout.valid_shape
    accumulator = StripAccumulator(segmenter.num_classes, valid_height, layout.width)
    fill_values = segmenter.metadata.mean  # invalid pixels become 0 after normalisation
    total, done = len(layout.row_origins) * len(layout.col_origins), 0
    rows = layout.row_origins
    for strip, row in enumerate(rows):
        wanted = layout.col_origins
        if aoi is not None:
            wanted = [col for col in wanted if aoi.window_intersects(
                Window(window.col_off + col, window.row_off + row, valid_width, valid_height), image.transform)]
            total -= len(layout.col_origins) - len(wanted)
        for start in range(0, len(wanted), batch_size):
            cols = wanted[start:start + batch_size]
            pixels = np.stack([_read_tile(image, band_indexes, nodata, window, layout, row, col, fill_values)
                               for col in cols])
            probabilities = segmenter.predict_probabilities(pixels)
            for col, tile_probabilities in zip(cols, probabilities):
                accumulator.add(tile_probabilities[:, :valid_height, :valid_width], layout.weights(row, col), row, col)
            done += len(cols)
            if reporter is not None:
                reporter.progress("predict", done, total)
        release_stop = rows[strip + 1] if strip + 1 < len(rows) else layout.height
        with np.errstate(invalid="ignore", divide="ignore"):  # skipped tiles: no weight, outside the AOI
            first_row, blended = accumulator.pop_rows(release_stop)
        final = Window(window.col_off, window.row_off + first_row, window.width, blended.shape[1])
        valid = nodata.valid(image, final, band_indexes=band_indexes)
        if aoi is not None:
            valid &= aoi.mask(image.window_transform(final), valid.shape)
            blended = np.nan_to_num(blended, nan=0.0)
        writer.write_rows(first_row, blended, valid)


def aoi_window(aoi, image, window: Window) -> Window:
    """The part of ``window`` that covers the AOI's bounds (whole pixels)."""
    from rasterio.windows import WindowError, intersection

    try:
        covering = extent_window(image.transform, image.width, image.height, aoi.bounds)
        return intersection(window, covering)
    except (UserError, WindowError):
        raise UserError(f"--aoi {aoi.name} does not meet the image (or the extent); choose the area of interest "
                        "over the image") from None


def _read_tile(image: rasterio.DatasetReader, band_indexes: list[int], nodata: Nodata, window: Window,
               layout: TileLayout, row: int, col: int, fill_values: np.ndarray) -> np.ndarray:
    """Raw pixels float32 [bands, tile_height, tile_width]; nodata (``core.nodata``: NaN and
    infinity among them) replaced by ``fill_values`` (one per band, so that they are 0 once
    normalised, as in training), reflect-padded when the window is smaller than a tile."""
    valid_height, valid_width = layout.valid_shape
    read_window = Window(window.col_off + col, window.row_off + row, valid_width, valid_height)
    pixels = image.read(band_indexes, window=read_window, out_dtype="float32")
    invalid = ~nodata.valid(image, read_window, pixels, band_indexes)
    if invalid.any():
        pixels = np.where(invalid[None], fill_values[:, None, None], pixels).astype(np.float32, copy=False)
    pad_rows, pad_cols = layout.tile_height - valid_height, layout.tile_width - valid_width
    if pad_rows or pad_cols:
        pixels = np.pad(pixels, ((0, 0), (0, pad_rows), (0, pad_cols)), mode="reflect")
    return pixels


def _output_targets(image_path: "str | os.PathLike", out_path: "str | os.PathLike",
                    confidence_path: "Optional[str | os.PathLike]",
                    probabilities_path: "Optional[str | os.PathLike]") -> dict[str, Path]:
    out_path = Path(out_path)
    targets = {"classes": out_path, "style": out_path.with_suffix(".qml")}
    if confidence_path is not None:
        targets["confidence"] = Path(confidence_path)
        targets["confidence_style"] = Path(confidence_path).with_suffix(".qml")
    if probabilities_path is not None:
        targets["probabilities"] = Path(probabilities_path)
    resolved = [path.resolve() for path in targets.values()]
    if len(set(resolved)) != len(resolved):
        raise UserError("the output files must have different names (the .qml styles take the rasters' base names)")
    if not _is_dataset(image_path) and Path(image_path).resolve() in resolved:
        raise UserError(f"{image_path}: an output would overwrite the input image")
    return targets


def _is_dataset(image) -> bool:
    return hasattr(image, "read") and hasattr(image, "transform")


@contextlib.contextmanager
def _open_image(path: "str | os.PathLike") -> Iterator[rasterio.DatasetReader]:
    """Opens ``path`` (an open dataset is used as it is, and left open) and checks its georeferencing."""
    if _is_dataset(path):
        _require_georeferencing(path, path.name)
        yield path
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            image = rasterio.open(path)
    except RasterioIOError as exc:
        raise UserError(f"{path}: cannot open the image ({exc})") from None
    with image:
        _require_georeferencing(image, path)
        yield image


def check_image(path: "str | os.PathLike", nodata: Optional[str] = None) -> None:
    """The checks of ``predict_raster``'s image and ``--nodata``, run before any model is loaded."""
    with _open_image(path) as image:
        parse_nodata(nodata, image.dtypes[0])


def _require_georeferencing(image, name) -> None:
    if image.crs is None or image.transform.is_identity:
        raise UserError(f"{name}: the image has no georeferencing (CRS and geotransform); "
                        "assign them in QGIS (Raster > Projections) first")
    dtypes = set(image.dtypes)
    if len(dtypes) != 1 or next(iter(dtypes)) not in SUPPORTED_DTYPES:
        raise UserError(f"{name}: the image has data type {', '.join(sorted(dtypes))}; supported are "
                        f"{', '.join(SUPPORTED_DTYPES)} (convert with gdal_translate -ot)")


def _model_bands(image: rasterio.DatasetReader, segmenter: OnnxSegmenter, path: "str | os.PathLike") -> list[int]:
    """The image's band indexes the model reads: all but alpha bands."""
    band_indexes = [index for index, interp in enumerate(image.colorinterp, start=1) if interp != ColorInterp.alpha]
    if len(band_indexes) != segmenter.in_channels:
        raise UserError(f"{path}: the image has {len(band_indexes)} bands (alpha not counted), "
                        f"the model expects {segmenter.in_channels}")
    return band_indexes


def _warn_on_resolution_mismatch(image: rasterio.DatasetReader, segmenter: OnnxSegmenter, reporter: Reporter) -> None:
    expected = segmenter.resolution
    if not expected:
        return
    actual = tuple(abs(value) for value in image.res)
    if any(abs(a / e - 1) > RESOLUTION_TOLERANCE for a, e in zip(actual, expected) if e):
        units = f" {segmenter.metadata.units}" if segmenter.metadata.units else ""
        reporter.warning(f"the image's resolution {actual[0]:g} x {actual[1]:g} differs from the model's "
                         f"{expected[0]:g} x {expected[1]:g}{units}; predictions may be poor")
