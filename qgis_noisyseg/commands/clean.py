from __future__ import annotations

import argparse
from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import CleanOptions

SPEC = CleanOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from ..core.clean import build_clean_dataset

    arguments = {k: v for k, v in vars(args).items() if not k.startswith("_") and k != "command_line"}
    return build_clean_dataset(args.data, args.labels, args.tiles, args.out, field=args.field, unlabeled=args.unlabeled,
                               val_fraction=args.val_fraction, overwrite=args.overwrite, reporter=reporter,
                               command=args.command_line, arguments=arguments)
