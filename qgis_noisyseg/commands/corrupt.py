from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="dataset folder to corrupt (from `noisyseg export`)")
    p.add_argument("--out", required=True, help="dataset folder to create")
    p.add_argument("--rate", type=float, required=True, help="fraction of objects touched, 0..1")
    p.add_argument("--kinds", default="remove,shift,erode,dilate,rotate,flip",
                   help="comma-separated noise kinds among remove, shift, erode, dilate, rotate, flip")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run(args: argparse.Namespace, reporter) -> dict:
    from ..core.noise import corrupt_dataset

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    return corrupt_dataset(args.data, args.out, rate=args.rate, kinds=kinds, seed=args.seed,
                           overwrite=args.overwrite, reporter=reporter)
