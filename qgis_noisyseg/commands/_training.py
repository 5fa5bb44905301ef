"""What ``pretrain`` and ``finetune`` share: training options, the data and the run config."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, Optional

LOSS_NAMES = ("ce", "sce", "bootstrap")  # backend.losses.LOSSES, here without importing torch


# Chosen by benchmarks/bench_quality.py (docs/results.md, "Cross-scene quality").
WARMUP = 0.0
PHOTOMETRIC = 0.0
NORMALIZATIONS = ("image", "dataset")
NORMALIZATION = "image"


def add_training_arguments(p: argparse.ArgumentParser, epochs: int, warmup: float = WARMUP,
                           photometric: float = PHOTOMETRIC) -> None:
    p.add_argument("--data", required=True, help="dataset folder (from noisyseg export)")
    p.add_argument("--out", required=True, help="run folder to write (model.pt, last.pt, history.json, curves.png)")
    p.add_argument("--epochs", type=int, default=epochs, help=f"epochs of supervised training (default {epochs})")
    p.add_argument("--batch-size", type=int, default=8, help="tiles per batch (default 8)")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    p.add_argument("--schedule", choices=("cosine", "onecycle"), default="cosine", help="learning-rate schedule per step")
    p.add_argument("--warmup", type=float, default=warmup,
                   help=f"with --schedule cosine: the fraction of steps over which the learning rate rises linearly "
                        f"before the cosine decay (default {warmup:g})")
    p.add_argument("--normalization", choices=NORMALIZATIONS, default=NORMALIZATION,
                   help=f"image: every image is standardised by its own band mean and std (nodata excluded): the "
                        f"training tiles by their dataset's, an image to predict by its own, so that another flight or "
                        f"date needs no new model; dataset: every image by the training dataset's (default "
                        f"{NORMALIZATION}; with --init a model, that model's scheme)")
    p.add_argument("--photometric", type=float, default=photometric,
                   help=f"strength of the per-band brightness, contrast and gamma jitter of the training tiles, so "
                        f"that the model survives another flight or date; 0 turns it off (default {photometric:g})")
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
    for name in ("lr", "weight_decay", "temperature"):
        value = getattr(args, name, None)
        lowest = 0.0 if name == "weight_decay" else None
        if value is not None and not (math.isfinite(value) and (value >= 0 if lowest == 0.0 else value > 0)):
            bound = "at least 0" if lowest == 0.0 else "above 0"
            raise UserError(f"--{name.replace('_', '-')} must be a finite number {bound}, got {value}")
    if args.patience is not None and args.patience < 1:
        raise UserError(f"--patience must be at least 1, got {args.patience}")
    if not (math.isfinite(args.label_smoothing) and 0.0 <= args.label_smoothing < 1.0):
        raise UserError(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
    if not (math.isfinite(args.warmup) and 0.0 <= args.warmup < 1.0):
        raise UserError(f"--warmup must be a fraction of the steps in [0, 1), got {args.warmup}")
    if not (math.isfinite(args.photometric) and 0.0 <= args.photometric <= 0.5):
        raise UserError(f"--photometric must be between 0 (off) and 0.5, got {args.photometric}")
    scale = getattr(args, "encoder_lr_scale", 1.0)
    if not (math.isfinite(scale) and 0.0 < scale <= 1.0):
        raise UserError(f"--encoder-lr-scale must be in (0, 1], got {scale}")
    return TrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                        schedule=args.schedule, label_smoothing=args.label_smoothing, class_weights=args.class_weights,
                        patience=args.patience, seed=args.seed,
                        temperature=getattr(args, "temperature", None) or TrainOptions.temperature,
                        loss=getattr(args, "loss", "ce"), warmup=args.warmup, photometric=args.photometric,
                        normalization=args.normalization,
                        encoder_lr_scale=scale)


# What a resumed run may change: how long it trains, where, and when it stops early. Every other
# option of the run is its own, from its config: a different value given explicitly is refused.
RESUME_MAY_CHANGE = frozenset({"epochs", "simclr_epochs", "device", "patience"})
# Options recorded outside the config's "training" entry: config key -> argument.
RESUMED_ARCHITECTURE = {"encoder": "encoder", "decoder": "decoder", "base_width": "base_width",
                        "pretraining": "method", "freeze": "freeze", "max_tiles": "max_tiles",
                        "tiles_with": "tiles_with", "tile_size": "tile_size"}


def resume_checkpoint(args: argparse.Namespace, dataset) -> Optional[dict]:
    """With ``--resume``: the run's ``last.pt``, after setting every option the command line
    left at its default to the run's own value, so that the config records what is really
    used. An option given explicitly with another value than the run's is refused, except
    those of ``RESUME_MAY_CHANGE``; so is a dataset whose manifest changed since."""
    from ..backend.checkpoint import load_checkpoint
    from ..core.errors import UserError
    from ..core.imagery import sha256_of

    if not args.resume:
        return None
    if args.overwrite:
        raise UserError("--resume and --overwrite contradict each other; pass one")
    last = Path(args.out) / "last.pt"
    if not last.is_file():
        raise UserError(f"cannot resume: {last} does not exist; start the run without --resume")
    checkpoint = load_checkpoint(last)
    config = checkpoint["config"]
    saved = {key: value for key, value in (config.get("training") or {}).items() if hasattr(args, key)}
    for key, dest in RESUMED_ARCHITECTURE.items():
        if key in config and hasattr(args, dest):
            saved[dest] = config[key]
    if config.get("tile_size") == dataset.manifest.get("tile_size"):
        saved["tile_size"] = None  # whole tiles
    explicit = getattr(args, "_explicit", frozenset())
    for dest, value in saved.items():
        if dest in RESUME_MAY_CHANGE:
            continue
        given = getattr(args, dest)
        if dest in explicit and given != value and not (dest == "tile_size" and given == config.get("tile_size")):
            flag = "--" + dest.replace("_", "-")
            raise UserError(f"{args.out} was trained with {flag} {value}, not {given}; --resume continues a run "
                            f"with its own settings: drop {flag}, or start a new run with another --out")
        setattr(args, dest, value)
    for dest in ("epochs", "simclr_epochs", "patience"):
        if dest not in explicit and dest in saved:
            setattr(args, dest, saved[dest])
    digest = config.get("dataset_sha256")
    if digest and digest != sha256_of([Path(dataset.root) / "manifest.json"]):
        raise UserError(f"dataset {dataset.root} changed since {args.out} was started (its manifest differs); "
                        "resume on the same dataset, or start a new run with --overwrite")
    return checkpoint


def open_dataset(path: str, need_labels: bool = True):
    """The dataset folder, checked to have train tiles (with labelled pixels when needed)."""
    from ..core.dataset import Dataset
    from ..core.errors import UserError

    dataset = Dataset(path)
    if not dataset.split("train"):
        raise UserError(f"dataset {path} has no train tiles; export it again with a larger image or smaller --tile")
    if need_labels:
        check_labelled(dataset.split("train"), path)
    return dataset


def check_labelled(tiles, path) -> None:
    """Refuses train tiles whose masks are all ignore: training on them would learn nothing."""
    from ..backend.data import labelled_pixels
    from ..core.errors import UserError

    if labelled_pixels(tiles) == 0:
        raise UserError(f"the train tiles of dataset {path} have no labelled pixels (every mask pixel is 255); "
                        "check the label layer, --field and --unlabeled")


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
        "normalization": {"mean": list(normalization["mean"]), "std": list(normalization["std"]),
                          "scheme": normalization.get("scheme", "dataset")},
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


def normalization_for(dataset, scheme: str, source: Optional[dict] = None) -> dict:
    """The ``normalization`` of a run's config: ``source`` (a pretrained model's) when it has the
    dataset scheme, otherwise the statistics of ``dataset`` (the image this run trains on)."""
    if source is not None and source.get("scheme", "dataset") == "dataset":
        return {**source, "scheme": "dataset"}
    stats = dataset.manifest["band_stats"]
    return {"mean": stats["mean"], "std": stats["std"], "scheme": scheme}


def tile_datasets(dataset, train_tiles, normalization: dict, crop: Optional[int], photometric: float = 0.0):
    from ..backend.data import TileDataset

    mean, std = normalization["mean"], normalization["std"]
    train = TileDataset(dataset, train_tiles, mean, std, augment=True, crop=crop, photometric=photometric)
    val = TileDataset(dataset, dataset.split("val"), mean, std)
    return train, val


def start(args: argparse.Namespace, reporter, inputs=()):
    """Device, distributed context and the run folder, opened (locked, see ``RunFolder.open``).
    Call it once every option is checked; wrap what follows so that a failure calls
    ``run.abort()``, and finish with ``outputs()``, which commits the run."""
    from ..backend.distributed import DistributedContext, seed_everything, select_device
    from ..backend.run_folder import RunFolder
    from ..core.outputs import plan_outputs
    from ..core.progress import Reporter

    context = DistributedContext.from_environment()
    device = select_device(args.device, context.local_rank)
    run = RunFolder(args.out, writer=context.is_main)
    weights = getattr(args, "encoder_weights", None)
    if weights and Path(weights).is_file():
        inputs = [*inputs, (weights, "--encoder-weights")]
    plan = run.plan(plan_outputs(args.overwrite, [(args.data, "--data"), *inputs], reporter, resume=args.resume))
    if context.is_main:
        plan.check()
        run.open(plan)
    try:
        if not context.is_main:
            reporter = Reporter(quiet=True, cancel=reporter.cancel)
        context.init(device)
        seed_everything(args.seed + context.rank)
        if context.is_main:
            where = f"{context.world_size} processes" if context.enabled else "1 process"
            reporter.info(f"training on {device} ({where})", device=str(device), world_size=context.world_size)
            run.write_command(args.command_line, resumed=args.resume)
    except BaseException:
        run.abort()
        raise
    return context, device, run, reporter


def outputs(run, progress) -> dict:
    """The command's outputs; commits the run folder (its lock is released)."""
    run.commit()
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


def pretrained_encoder(args: argparse.Namespace, config: dict, dataset, resumed: Optional[dict], reporter):
    """The ``--encoder-weights`` to load into a fresh model (None for none, and on --resume, whose
    weights are in last.pt); records them in ``config``. A resumed run keeps its own weights:
    other weights given explicitly are refused."""
    if resumed is not None and "encoder_weights" not in getattr(args, "_explicit", frozenset()):
        config["encoder_weights"] = resumed["config"].get("encoder_weights")
        return None
    weights = encoder_weights(args, config, dataset, reporter)
    config["encoder_weights"] = weights.record if weights else None
    if resumed is not None:
        check_same_weights(resumed["config"], config, str(Path(args.out) / "last.pt"))
        return None
    if weights:
        reporter.info(weights.message, encoder_weights=weights.record)
    return weights


def check_same_weights(resumed_config: dict, config: dict, source: str) -> None:
    """A resumed run continues from the encoder weights it started from."""
    from ..core.errors import UserError

    def sha(c: dict):
        return (c.get("encoder_weights") or {}).get("sha256")

    if sha(resumed_config) != sha(config):
        before = (resumed_config.get("encoder_weights") or {}).get("path", "none")
        raise UserError(f"{source} was started with --encoder-weights {before}; resume it with the same weights")
