from __future__ import annotations

import argparse

from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import ExportOptions

SPEC = ExportOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from ..core.export import export_dataset
    from ..core.grid import parse_split

    arguments = {k: v for k, v in vars(args).items() if not k.startswith("_") and k not in ("command_line",)}
    return export_dataset(
        args.image, args.labels, args.out, field=args.field, classes=args.classes, unlabeled=args.unlabeled,
        all_touched=args.all_touched, tile=args.tile, stride=args.stride, min_valid=args.min_valid,
        split=parse_split(args.split), seed=args.seed, encoding=args.encoding, nodata=args.nodata, overwrite=args.overwrite, force=args.force,
        reporter=reporter, command=args.command_line, arguments=arguments,
    )
