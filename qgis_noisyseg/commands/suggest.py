"""``noisyseg suggest``: rank a dataset's tiles for annotation by the model's uncertainty.

onnxruntime + numpy + rasterio only (no torch), like ``predict``."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model.onnx from `noisyseg export-onnx`")
    p.add_argument("--data", required=True, help="dataset folder whose tiles are ranked (its masks are the noisy labels)")
    p.add_argument("--top", type=int, default=10, help="how many tiles to suggest (default 10)")
    p.add_argument("--by", choices=("both", "confidence", "disagreement"), default="both",
                   help="score: 1 - mean confidence, disagreement with the noisy mask, or their mean (default both)")
    p.add_argument("--split", choices=("all", "train", "val", "test"), default="all", help="tiles to rank (default all)")
    p.add_argument("--out", help="also write every tile's scores to this JSON file")
    p.add_argument("--nodata", metavar="VALUE|none",
                   help="also treat pixels of this value in every band as nodata; 'none': every pixel is data "
                        "(default: the tiles' own masks, from export)")
    p.add_argument("--aoi", metavar="FILE[:LAYER]",
                   help="area of interest: a polygon layer in any CRS; only tiles that meet it are ranked, "
                        "on their pixels inside it")
    p.add_argument("--batch-size", type=int, default=8, help="tiles per batch (default 8)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--threads", type=int, help="CPU threads for onnxruntime (default: all cores)")


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
