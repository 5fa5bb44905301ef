"""``noisyseg compare-map``: which polygons of an old map the prediction says have changed.

rasterio + shapely + pyogrio (+ the model's metadata through onnx/onnxruntime) only, no torch."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import CompareMapOptions

SPEC = CompareMapOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from ..core.errors import UserError
    from ..core.outputs import plan_outputs
    from ..inference.compare_map import compare_map
    from ..inference.vectorize import check_prediction
    from .vectorize import default_confidence

    prediction = Path(args.prediction)
    out = Path(args.out or prediction.with_name(f"{prediction.stem}_changes.gpkg"))
    confidence = args.confidence or default_confidence(prediction)
    plan = plan_outputs(args.overwrite, [(prediction, "--prediction"), (confidence, "--confidence"),
                                         (args.labels, "--labels"), (args.model, "--model")], reporter)
    plan.file(out, "--out", "vector")
    plan.check()
    check_prediction(prediction)
    classes, field = None, args.field
    if args.model:
        from ..inference.model import OnnxSegmenter

        metadata = OnnxSegmenter(args.model, device="cpu", threads=1).metadata
        classes = metadata.classes
        field = field or metadata.raw.get("provenance", {}).get("label_field")
    if field is None:
        raise UserError(f"--labels {args.labels}: give --field, the old map's class field (or --model, "
                        "whose training field is the default)")
    with plan.writing():
        return compare_map(prediction, args.labels, out, field=field, classes=classes,
                           confidence_path=confidence, reporter=reporter)
