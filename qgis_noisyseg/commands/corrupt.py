from __future__ import annotations

import argparse
from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import CorruptOptions

SPEC = CorruptOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from ..core.noise import corrupt_dataset

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    return corrupt_dataset(args.data, args.out, rate=args.rate, kinds=kinds, seed=args.seed,
                           overwrite=args.overwrite, reporter=reporter)
