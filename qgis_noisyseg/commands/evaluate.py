"""``noisyseg evaluate``: a model's mIoU, per-class IoU and F1, accuracy and confusion matrix
on a split of a dataset. Pixels labelled 255 are ignored; classes absent from both reference
and prediction are left out of the mIoU (and named). The outputs also hold each tile's
confusion matrix and a 90 % bootstrap interval over tiles of mIoU and accuracy (none with a
single tile), so that two models scored on the same tiles can be compared pairwise."""

from __future__ import annotations

import argparse
from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import EvaluateOptions

SPEC = EvaluateOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    import torch

    from ..backend.checkpoint import check_checkpoint, check_needs, load_checkpoint, load_weights
    from ..backend.data import TileDataset, labelled_pixels, make_loader
    from ..backend.distributed import select_device
    from ..backend.evaluation import predict_confusion_per_tile
    from ..backend.models import build_model
    from ..core.atomic import write_json
    from ..core.dataset import Dataset
    from ..core.errors import UserError
    from ..core.metrics import INTERVAL_LEVEL, summarize, tile_interval
    from ._training import check_bands

    from ..backend.checkpoint import require_finite_weights
    from ..core.outputs import plan_outputs

    plan = plan_outputs(True, [(args.model, "--model"), (args.data, "--data")], reporter)
    if args.out:
        plan.file(args.out, "--out", "metrics")
    plan.check()
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
    checkpoint = load_checkpoint(args.model)
    check_checkpoint(checkpoint, args.model, needs=())
    require_finite_weights(checkpoint["state_dict"], args.model)
    config = checkpoint["config"]
    dataset = Dataset(args.data)
    check_bands(config, dataset, args.model)
    check_needs(config, args.model)
    if dataset.classes.num_classes != config["num_classes"]:
        raise UserError(f"{args.model} predicts {config['num_classes']} classes but dataset {args.data} has "
                        f"{dataset.classes.num_classes}; evaluate on data exported with the same classes.json")
    tiles = dataset.split(None if args.split == "all" else args.split)
    if not tiles:
        raise UserError(f"dataset {args.data} has no {args.split} tiles; pick another --split")
    if labelled_pixels(tiles) == 0:
        raise UserError(f"the {args.split} tiles of {args.data} have no labelled pixels (every mask is 255)")
    device = select_device(args.device)
    model = build_model(config)
    load_weights(model, checkpoint["state_dict"], args.model)
    model.to(device)
    norm = config["normalization"]
    if norm.get("scheme") == "image":  # standardised by the evaluated image's own statistics
        norm = dataset.manifest["band_stats"]
    loader = make_loader(TileDataset(dataset, tiles, norm["mean"], norm["std"]), args.batch_size, shuffle=False, seed=0)
    reporter.progress("evaluate", 0, len(tiles))
    with torch.inference_mode():
        per_tile = predict_confusion_per_tile(model, loader, config["num_classes"], device, dataset.ignore_index)
    reporter.progress("evaluate", len(tiles), len(tiles))
    metrics = summarize(per_tile.sum(axis=0), [c["name"] for c in config["classes"]])
    metrics.update(split=args.split, tiles=len(tiles),
                   interval={"level": INTERVAL_LEVEL, "method": "percentile bootstrap over tiles",
                             "miou": tile_interval(per_tile, "miou"),
                             "overall_accuracy": tile_interval(per_tile, "overall_accuracy")},
                   per_tile=[{"id": tile["id"], "confusion_matrix": cm.tolist()} for tile, cm in zip(tiles, per_tile)])
    if args.out:
        with plan.writing():
            write_json(args.out, {"format": "noisyseg-metrics", **metrics})
    if not reporter.json_lines:
        reporter.info(format_table(metrics))
    return metrics


def format_table(metrics: dict) -> str:
    rows = [f"{'class':<24} {'IoU':>6} {'F1':>6} {'pixels':>9}"]
    for c in metrics["per_class"]:
        iou = "-" if c["iou"] is None else f"{c['iou']:.3f}"
        f1 = "-" if c["f1"] is None else f"{c['f1']:.3f}"
        rows.append(f"{c['name'][:24]:<24} {iou:>6} {f1:>6} {c['pixels']:>9}")
    return "\n".join(rows)
