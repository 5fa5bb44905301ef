"""``noisyseg vectorize``: a prediction's class raster as styled polygons in a GeoPackage.

rasterio + shapely + pyogrio only (no torch, no model)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import VectorizeOptions

SPEC = VectorizeOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def default_confidence(prediction: Path):
    candidate = prediction.with_name(f"{prediction.stem}_confidence.tif")
    return candidate if candidate.is_file() else None


CLI_GDAL_CACHE_BYTES = 32 * 2 ** 20


def run(args: argparse.Namespace, reporter) -> dict:
    import os

    # before GDAL's first use in this process: a rasterio.Env(GDAL_CACHEMAX) entered later was not
    # honoured in the CLI (peak RSS 556 MB at 20000 x 20000 px, 372 MB with this variable set)
    os.environ.setdefault("GDAL_CACHEMAX", str(CLI_GDAL_CACHE_BYTES))
    import rasterio

    from ..core.aoi import open_aoi
    from ..core.outputs import plan_outputs
    from ..inference.vectorize import check_prediction, vectorize

    prediction = Path(args.prediction)
    confidence = args.confidence or default_confidence(prediction)
    plan = plan_outputs(args.overwrite, [(prediction, "--prediction"), (confidence, "--confidence"),
                                         (args.aoi, "--aoi")], reporter)
    plan.file(args.out, "--out", "vector")
    plan.check()
    check_prediction(prediction)
    with rasterio.open(prediction) as src:
        aoi = open_aoi(args.aoi, src.crs)
    with plan.writing():
        return vectorize(prediction, args.out, confidence_path=confidence, min_area=args.min_area,
                         simplify=args.simplify, aoi=aoi, reporter=reporter)
