"""``noisyseg suggest``: rank a dataset's tiles for annotation by the model's uncertainty.

onnxruntime + numpy + rasterio only (no torch), like ``predict``."""

from __future__ import annotations

import argparse
from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import SuggestOptions

SPEC = SuggestOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from ..core.outputs import plan_outputs
    from ..inference.model import OnnxSegmenter
    from ..inference.suggest import suggest_tiles

    plan = plan_outputs(True, [(args.model, "--model"), (args.data, "--data"), (args.aoi, "--aoi")], reporter)  # only its own file is replaced
    if args.out:
        plan.file(args.out, "--out", "suggestions")
    plan.check()
    segmenter = OnnxSegmenter(args.model, device=args.device, threads=args.threads)
    with plan.writing():
        outputs = suggest_tiles(segmenter, args.data, top=args.top, by=args.by, split=args.split,
                                batch_size=args.batch_size, out=args.out, nodata=args.nodata, aoi=args.aoi,
                                reporter=reporter)
    if not reporter.json_lines:
        reporter.info(format_table(outputs["suggestions"]))
    return outputs


def format_table(suggestions: list[dict]) -> str:
    rows = [f"{'tile':<18} {'split':<6} {'score':>6} {'conf.':>6} {'disagr.':>7}"]
    for s in suggestions:
        disagreement = "-" if s["disagreement"] is None else f"{s['disagreement']:.3f}"
        confidence = "-" if s["confidence"] is None else f"{s['confidence']:.3f}"
        rows.append(f"{s['tile_id']:<18} {s['split']:<6} {s['score']:>6.3f} {confidence:>6} {disagreement:>7}")
    return "\n".join(rows)
