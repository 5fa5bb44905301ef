from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="the noisy dataset folder the tiles come from (from `noisyseg export`)")
    p.add_argument("--labels", required=True, metavar="FILE.gpkg:clean_labels",
                   help="corrected polygons with an integer class id field (a class id of the noisy dataset)")
    p.add_argument("--tiles", required=True, metavar="FILE.gpkg:tiles",
                   help="tiles layer with tile_id and done (0/1); the tiles with done = 1 are taken, those whose split "
                        "field is 'check' as the test split (check tiles: never trained on)")
    p.add_argument("--out", required=True, help="clean dataset folder to create")
    p.add_argument("--field", default="class_id", help="class id field of --labels (default class_id)")
    p.add_argument("--unlabeled", choices=("background", "ignore"),
                   help="what pixels no clean polygon covers become (default: as in the noisy dataset)")
    p.add_argument("--val-fraction", type=float, default=0.25,
                   help="fraction of the done tiles for validation (default 0.25; at least one tile when there are two or more)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run(args: argparse.Namespace, reporter) -> dict:
    from ..core.clean import build_clean_dataset

    arguments = {k: v for k, v in vars(args).items() if not k.startswith("_") and k != "command_line"}
    return build_clean_dataset(args.data, args.labels, args.tiles, args.out, field=args.field, unlabeled=args.unlabeled,
                               val_fraction=args.val_fraction, overwrite=args.overwrite, reporter=reporter,
                               command=args.command_line, arguments=arguments)
