from __future__ import annotations

import argparse

MAX_TILES = 50_000  # core.export.MAX_TILES, here without importing rasterio


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", required=True, help="imagery GeoTIFF (any band count; uint8, uint16, int16 or float32)")
    p.add_argument("--labels", required=True, action="append", metavar="SRC",
                   help="label source: vector file (file.gpkg:layer, .shp, .geojson) or classified raster; "
                        "repeat to burn several, later over earlier")
    p.add_argument("--field", help="attribute that holds each feature's class (without it every feature is one class)")
    p.add_argument("--classes", help="classes.json mapping source values to class ids, names and colours "
                                     "(default: one class per distinct value)")
    p.add_argument("--unlabeled", choices=("background", "ignore"), default="ignore",
                   help="what pixels with no label become: background (0) or ignore (255); default ignore")
    p.add_argument("--all-touched", action="store_true", help="burn every pixel a feature touches, not only those whose centre it covers")
    p.add_argument("--encoding", help="attribute encoding of the vector files (default: as declared, UTF-8 detected)")
    p.add_argument("--tile", type=int, default=256, help="tile size in pixels (default 256)")
    p.add_argument("--stride", type=int, help="step between tiles in pixels (default: the tile size)")
    p.add_argument("--min-valid", type=float, default=0.5, help="skip tiles with less valid image area than this (default 0.5)")
    p.add_argument("--split", default="0.8,0.1,0.1", help="train,val,test fractions, split by spatial blocks (default 0.8,0.1,0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--nodata", metavar="VALUE|none",
                   help="pixel value that marks nodata in every band, overriding the file's tag; 'none': no nodata "
                        "(default: the file's nodata, alpha or mask, else a black or white border is detected)")
    p.add_argument("--out", required=True, help="dataset folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--force", action="store_true",
                   help=f"export even a grid of more than {MAX_TILES:,} tiles, or where the free space looks too small")


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
