"""``noisyseg analyze``: compares two models of the same architecture block by block, by the
symmetric KL divergence between their weight distributions and between their activation
distributions on the same tiles, optionally against a seed baseline pair. Writes
``layers.json`` and ``layers.png`` into ``--out``."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--a", required=True, help="first checkpoint (RUN_A/model.pt)")
    p.add_argument("--b", required=True, help="second checkpoint (RUN_B/model.pt), same architecture")
    p.add_argument("--data", required=True, help="dataset folder whose tiles feed the activation comparison")
    p.add_argument("--out", required=True, help="folder to write layers.json and layers.png into (replaced as a whole)")
    p.add_argument("--baseline", help="A2/model.pt,B2/model.pt: two runs that differ only in seed, the reference for 'different'")
    p.add_argument("--tiles", type=int, default=16, help="tiles for the activations, drawn with --seed (default 16)")
    p.add_argument("--bins", type=int, default=100, help="histogram bins (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the tile draw (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


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
