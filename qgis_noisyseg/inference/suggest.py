"""Which tiles to annotate next: where the model is least sure, or disagrees most with the noisy map.

For each tile of a dataset the model predicts the image tile, and two numbers come out:
``confidence``, the mean largest class probability over the valid pixels, and ``disagreement``,
the fraction of labelled pixels (mask != 255) whose predicted class differs from the noisy mask
(None for a tile with no labelled pixel). A tile's score is ``1 - confidence``, the
disagreement, or the mean of the two (``both``); higher means "annotate this first".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..core.atomic import write_json
from ..core.dataset import Dataset
from ..core.errors import UserError
from ..core.nodata import NONE, parse_nodata
from ..core.progress import Reporter
from .model import OnnxSegmenter
from .sliding import RESOLUTION_TOLERANCE

RANKINGS = ("both", "confidence", "disagreement")
SPLIT_CHOICES = ("all", "train", "val", "test")
PAD_MULTIPLE = 32  # encoders halve the size five times


def suggest_tiles(
    segmenter: OnnxSegmenter,
    data: "str | os.PathLike",
    *,
    top: int = 10,
    by: str = "both",
    split: str = "all",
    batch_size: int = 8,
    out: "Optional[str | os.PathLike]" = None,
    nodata: Optional[str] = None,
    aoi: Optional[str] = None,
    reporter: Optional[Reporter] = None,
) -> dict:
    """Scores the tiles of ``data``; with ``aoi`` (``--aoi FILE[:LAYER]``, any CRS) only the
    tiles that meet it, and only their pixels inside it."""
    reporter = reporter or Reporter(quiet=True)
    if by not in RANKINGS:
        raise UserError(f"--by must be one of {', '.join(RANKINGS)}, got {by!r}")
    if split not in SPLIT_CHOICES:
        raise UserError(f"--split must be one of {', '.join(SPLIT_CHOICES)}, got {split!r}")
    if top < 1:
        raise UserError(f"--top must be at least 1, got {top}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")
    dataset = Dataset(data)
    nodata = parse_nodata(nodata, dataset.manifest["image"].get("dtype", "float32"))
    same_classes = check_model_fits(segmenter, dataset, needs_classes=by != "confidence")
    _warn_on_resolution_mismatch(segmenter, dataset, reporter)
    if segmenter.metadata.scheme == "image":  # standardised by the dataset image's own statistics
        stats = dataset.manifest["band_stats"]
        segmenter = segmenter.standardised_by(stats["mean"], stats["std"])
    tiles = dataset.split(None if split == "all" else split)
    if not tiles:
        raise UserError(f"dataset {dataset.root} has no {split} tiles; pick another --split")
    area = None
    if aoi:
        from rasterio.crs import CRS

        from ..core.aoi import AreaOfInterest

        area = AreaOfInterest(aoi, CRS.from_wkt(dataset.manifest["crs_wkt"]))
        tiles = [tile for tile in tiles if area.intersects(_tile_bounds(tile))]
        if not tiles:
            raise UserError(f"--aoi {aoi} meets none of the dataset's {split} tiles; choose an area over them")

    scored = []
    for start in range(0, len(tiles), batch_size):
        batch = tiles[start:start + batch_size]
        scored.extend(_score_batch(segmenter, dataset, batch, by, same_classes, nodata, area))
        reporter.progress("suggest", start + len(batch), len(tiles))
    ranked = sorted(scored, key=lambda s: (s["score"] is None, -(s["score"] or 0.0), s["tile_id"]))
    suggestions = [s for s in ranked if s["score"] is not None][:top]
    if out is not None:
        write_json(out, {"format": "noisyseg-suggestions", "model": str(Path(segmenter.path).resolve()), "dataset": str(dataset.root.resolve()),
                         "by": by, "split": split, "tiles": ranked})
    return {"suggestions": suggestions, "file": None if out is None else str(out), "tiles_scored": len(scored)}


def check_model_fits(segmenter: OnnxSegmenter, dataset: Dataset, *, needs_classes: bool) -> bool:
    """Whether the model's classes are the dataset's; raises when the bands differ, or when the
    classes do and ``needs_classes``."""
    if segmenter.in_channels != dataset.in_channels:
        raise UserError(f"{segmenter.path} expects {segmenter.in_channels} bands but dataset {dataset.root} has "
                        f"{dataset.in_channels}; use a model trained on imagery with the same bands")
    model_classes = [(c["id"], c["name"]) for c in segmenter.classes]
    dataset_classes = [(c.id, c.name) for c in dataset.classes.classes]
    if model_classes != dataset_classes and needs_classes:
        raise UserError(f"{segmenter.path} predicts {len(model_classes)} classes "
                        f"({', '.join(name for _, name in model_classes[:4])}{', ...' if len(model_classes) > 4 else ''}) "
                        f"but dataset {dataset.root} has {len(dataset_classes)} other ones; comparing with its masks "
                        "needs the same classes (or rank --by confidence)")
    return model_classes == dataset_classes


def _warn_on_resolution_mismatch(segmenter: OnnxSegmenter, dataset: Dataset, reporter: Reporter) -> None:
    expected, actual = segmenter.resolution, dataset.manifest.get("resolution")
    if not expected or not actual:
        return
    if any(e and abs(abs(a) / e - 1) > RESOLUTION_TOLERANCE for a, e in zip(actual, expected)):
        reporter.warning(f"the dataset's resolution {abs(actual[0]):g} x {abs(actual[1]):g} differs from the model's "
                         f"{expected[0]:g} x {expected[1]:g}; its confidence there says little")


def _score_batch(segmenter: OnnxSegmenter, dataset: Dataset, tiles: list[dict], by: str, same_classes: bool,
                 nodata=None, area=None) -> list[dict]:
    fill = segmenter.metadata.mean[:, None, None]  # invalid pixels become 0 after normalisation
    reads = [_with_nodata(dataset.read_tile(tile), nodata) for tile in tiles]
    if area is not None:  # outside the AOI: nodata, and not labelled
        reads = [_inside(area, tile, read, dataset.ignore_index) for tile, read in zip(tiles, reads)]
    shapes = {mask.shape for _, _, mask in reads}
    if len(shapes) > 1:  # tiles of one dataset share a size; predict them one at a time otherwise
        return [s for tile in tiles for s in _score_batch(segmenter, dataset, [tile], by, same_classes, nodata, area)]
    height, width = shapes.pop()
    pad_rows, pad_cols = -height % PAD_MULTIPLE, -width % PAD_MULTIPLE
    pixels = np.stack([np.where(valid[None], image.astype(np.float32), fill) for image, valid, _ in reads])
    if pad_rows or pad_cols:
        pixels = np.pad(pixels, ((0, 0), (0, 0), (0, pad_rows), (0, pad_cols)), mode="reflect")
    probabilities = segmenter.predict_probabilities(pixels.astype(np.float32))[:, :, :height, :width]
    max_probability = probabilities.max(axis=1)
    predicted = probabilities.argmax(axis=1)
    results = []
    for tile, (_, valid, mask), confidence_map, classes in zip(tiles, reads, max_probability, predicted):
        confidence = float(confidence_map[valid].mean()) if valid.any() else None
        labelled = mask != dataset.ignore_index
        disagreement = None
        if same_classes and labelled.any():
            disagreement = float(np.count_nonzero(classes[labelled] != mask[labelled]) / labelled.sum())
        results.append({"tile_id": tile["id"], "score": tile_score(confidence, disagreement, by),
                        "confidence": confidence, "disagreement": disagreement, "split": tile["split"]})
    return results


def _tile_bounds(tile: dict) -> tuple[float, float, float, float]:
    from affine import Affine
    from rasterio.transform import array_bounds

    window = tile["window"]
    return array_bounds(window["height"], window["width"], Affine(*tile["transform"]))


def _inside(area, tile: dict, read: tuple, ignore: int) -> tuple:
    from affine import Affine

    image, valid, mask = read
    inside = area.mask(Affine(*tile["transform"]), valid.shape)
    return image, valid & inside, np.where(inside, mask, ignore).astype(mask.dtype)


def _with_nodata(read: tuple, nodata) -> tuple:
    """A tile read with ``--nodata`` applied: ``none`` takes every pixel, a value drops the
    pixels equal to it in every band (the tile's own mask, from export, otherwise)."""
    image, valid, mask = read
    if nodata == NONE:
        valid = np.ones_like(valid)
    elif nodata is not None:
        valid = valid & ~(image == nodata).all(axis=0)
    return image, valid, mask


def tile_score(confidence: Optional[float], disagreement: Optional[float], by: str) -> Optional[float]:
    uncertainty = None if confidence is None else 1.0 - confidence
    if by == "confidence":
        return uncertainty
    if by == "disagreement":
        return disagreement
    terms = [t for t in (uncertainty, disagreement) if t is not None]
    return sum(terms) / len(terms) if terms else None
