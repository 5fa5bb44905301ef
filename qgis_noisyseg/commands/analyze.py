"""``noisyseg analyze``: compares two models of the same architecture block by block, by the
symmetric KL divergence between their weight distributions and between their activation
distributions on the same tiles, optionally against a seed baseline pair. Writes
``layers.json`` and ``layers.png`` into ``--out``."""

from __future__ import annotations

import argparse
from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import AnalyzeOptions

SPEC = AnalyzeOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from ..backend.analysis import analyze, format_table
    from ..core.errors import UserError

    baseline = None
    if args.baseline is not None:
        baseline = tuple(part.strip() for part in args.baseline.split(","))
        if len(baseline) != 2 or not all(baseline):
            raise UserError(f"--baseline takes two checkpoints separated by a comma (A2/model.pt,B2/model.pt), got {args.baseline!r}")
    result = analyze(args.a, args.b, args.data, args.out, baseline=baseline, tiles=args.tiles, bins=args.bins,
                     seed=args.seed, reporter=reporter, overwrite=args.overwrite)
    if not reporter.json_lines:
        reporter.info(format_table(result))
    return {"layers_json": result["layers_json"], "layers_png": result["layers_png"],
            "blocks": result["blocks"], "summary": result["summary"]}
