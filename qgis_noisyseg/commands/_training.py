"""What ``pretrain`` and ``finetune`` share: training options, the data and the run config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Optional

LOSS_NAMES = ("ce", "sce", "bootstrap")  # backend.losses.LOSSES, here without importing torch


def add_training_arguments(p: argparse.ArgumentParser, epochs: int) -> None:
    p.add_argument("--data", required=True, help="dataset folder (from noisyseg export)")
    p.add_argument("--out", required=True, help="run folder to write (model.pt, last.pt, history.json, curves.png)")
    p.add_argument("--epochs", type=int, default=epochs, help=f"epochs of supervised training (default {epochs})")
    p.add_argument("--batch-size", type=int, default=8, help="tiles per batch (default 8)")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    p.add_argument("--schedule", choices=("cosine", "onecycle"), default="cosine", help="learning-rate schedule per step")
    p.add_argument("--tile-size", type=int, help="train on random crops of this size (a multiple of 32; default: whole tiles)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto", help="auto: CUDA, then MPS, then CPU")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling, augmentation and --max-tiles")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing (default 0)")
    p.add_argument("--loss", choices=LOSS_NAMES, default="ce",
                   help="ce (default); sce (symmetric cross-entropy) or bootstrap (hard bootstrapping): robust to noisy labels")
    p.add_argument("--class-weights", action="store_true", help="weight the loss by inverse class frequency of the train tiles")
    p.add_argument("--patience", type=int, help="stop after this many epochs without a better validation mIoU")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def train_options(args: argparse.Namespace):
    from ..backend.training import TrainOptions
    from ..core.errors import UserError

    for name in ("epochs", "batch_size", "simclr_epochs"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if "epochs" in name else 1):
            raise UserError(f"--{name.replace('_', '-')} must be {'at least 0' if 'epochs' in name else 'at least 1'}, got {value}")
    if args.patience is not None and args.patience < 1:
        raise UserError(f"--patience must be at least 1, got {args.patience}")
    if not 0.0 <= args.label_smoothing < 1.0:
        raise UserError(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
    return TrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                        schedule=args.schedule, label_smoothing=args.label_smoothing, class_weights=args.class_weights,
                        patience=args.patience, seed=args.seed,
                        temperature=getattr(args, "temperature", None) or TrainOptions.temperature,
                        loss=getattr(args, "loss", "ce"))


def open_dataset(path: str, need_labels: bool = True):
    """The dataset folder, checked to have train tiles (with labelled pixels when needed)."""
    from ..backend.data import labelled_pixels
    from ..core.dataset import Dataset
    from ..core.errors import UserError

    dataset = Dataset(path)
    if not dataset.split("train"):
        raise UserError(f"dataset {path} has no train tiles; export it again with a larger image or smaller --tile")
    if need_labels and labelled_pixels(dataset.tiles) == 0:
        raise UserError(f"dataset {path} has no labelled pixels (every mask is 255); check the label layer and --field")
    return dataset


def check_crop(dataset, tile_size: Optional[int], multiple: int = 32) -> Optional[int]:
    from ..core.errors import UserError

    full = int(dataset.manifest["tile_size"])
    size = tile_size or full
    if size % multiple or size > full or size < multiple:
        raise UserError(f"--tile-size must be a multiple of {multiple} between {multiple} and the dataset's tile size "
                        f"{full}, got {size}" if tile_size else
                        f"the dataset's tiles are {full} px, not a multiple of {multiple}; pass --tile-size to crop them")
    return tile_size


def check_bands(config: dict, dataset, source: str) -> None:
    from ..core.errors import UserError

    if int(config["in_channels"]) != dataset.in_channels:
        raise UserError(f"{source} was trained on {config['in_channels']} bands but dataset {dataset.root} has "
                        f"{dataset.in_channels}; use imagery with the same bands")


def run_config(dataset, architecture: dict, normalization: dict, args: argparse.Namespace, options, **extra: Any) -> dict:
    """The config saved in every checkpoint of the run (docs/contracts.md)."""
    from dataclasses import asdict

    from .. import __version__
    from ..core.imagery import sha256_of

    manifest = dataset.manifest
    return {
        **architecture,
        "in_channels": dataset.in_channels,
        "num_classes": dataset.classes.num_classes,
        "classes": [{k: c[k] for k in ("id", "name", "color", "values") if k in c} for c in manifest["classes"]],
        "label_field": manifest.get("label_field") or next((s.get("field") for s in manifest.get("label_sources", []) if s.get("field")), None),
        "normalization": {"mean": list(normalization["mean"]), "std": list(normalization["std"])},
        "bands": manifest["image"].get("bands", []),
        "tile_size": args.tile_size or manifest["tile_size"],
        "resolution": manifest.get("resolution"),
        "units": manifest.get("units"),
        "crs": manifest.get("crs"),
        "ignore_index": dataset.ignore_index,
        "nodata": manifest["image"].get("nodata"),
        "dataset": str(Path(dataset.root).resolve()),
        "dataset_sha256": sha256_of([Path(dataset.root) / "manifest.json"]),
        "training": asdict(options),
        "package_version": __version__,
        **extra,
    }


def tile_datasets(dataset, train_tiles, normalization: dict, crop: Optional[int]):
    from ..backend.data import TileDataset

    mean, std = normalization["mean"], normalization["std"]
    train = TileDataset(dataset, train_tiles, mean, std, augment=True, crop=crop)
    val = TileDataset(dataset, dataset.split("val"), mean, std)
    return train, val


def start(args: argparse.Namespace, reporter):
    """Device, distributed context, run folder and (with --resume) the last checkpoint."""
    from ..backend.distributed import DistributedContext, seed_everything, select_device
    from ..backend.run_folder import RunFolder
    from ..core.errors import UserError
    from ..core.progress import Reporter

    if args.resume and args.overwrite:
        raise UserError("--resume and --overwrite contradict each other; pass one")
    context = DistributedContext.from_environment()
    device = select_device(args.device, context.local_rank)
    run = RunFolder(args.out, writer=context.is_main)
    resumed = run.prepare(args.overwrite, args.resume)
    if not context.is_main:
        reporter = Reporter(quiet=True, cancel=reporter.cancel)
    context.init(device)
    seed_everything(args.seed + context.rank)
    if context.is_main:
        where = f"{context.world_size} processes" if context.enabled else "1 process"
        reporter.info(f"training on {device} ({where})", device=str(device), world_size=context.world_size)
        run.write_command(args.command_line)
    return context, device, run, resumed, reporter


def outputs(run, progress) -> dict:
    last = progress.history[-1] if progress.history else {}
    return {"model": str(run.best), "last": str(run.last), "history": str(run.path / "history.json"),
            "epochs": len(progress.history), "final_loss": last.get("loss"), "final_val_miou": last.get("val_miou")}


def add_encoder_weights_arguments(p: argparse.ArgumentParser) -> None:
    """``--encoder-weights`` and ``--rgb-bands`` (backend/models/pretrained.py)."""
    p.add_argument("--encoder-weights", default="none", metavar="PATH|imagenet|none",
                   help="start the encoder from a torchvision or timm ResNet state dict (.pth), or from torchvision's "
                        "ImageNet weights (downloaded once into torch's hub cache); they need --base-width 64 "
                        "(default none: random)")
    p.add_argument("--rgb-bands", metavar="R,G,B",
                   help="with 3-band (RGB) weights: the dataset bands (1-based) holding red, green and blue, e.g. "
                        "3,2,1 for blue, green, red imagery (default: from the band names; unnamed 3-band imagery "
                        "is taken as red, green, blue)")


def encoder_weights(args: argparse.Namespace, config: dict, dataset, reporter=None):
    """The prepared ``--encoder-weights`` (None for none), checked against the architecture and
    the dataset's bands before anything is written."""
    from ..backend.models.pretrained import prepare_encoder_weights

    bands = dataset.manifest["image"].get("bands") or [{"index": i + 1, "name": f"band{i + 1}"}
                                                       for i in range(dataset.in_channels)]
    return prepare_encoder_weights(getattr(args, "encoder_weights", None), config, bands,
                                   getattr(args, "rgb_bands", None), reporter)


def check_same_weights(resumed_config: dict, config: dict, source: str) -> None:
    """A resumed run continues from the encoder weights it started from."""
    from ..core.errors import UserError

    def sha(c: dict):
        return (c.get("encoder_weights") or {}).get("sha256")

    if sha(resumed_config) != sha(config):
        before = (resumed_config.get("encoder_weights") or {}).get("path", "none")
        raise UserError(f"{source} was started with --encoder-weights {before}; resume it with the same weights")
