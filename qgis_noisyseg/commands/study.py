"""``noisyseg study label-efficiency|noise|transfer``: grids of pretraining and fine-tuning
runs that measure what pretraining on noisy labels buys, on the user's own data.

Each study is resumable: rerun the same command and the runs already done are skipped (a run
is done when its result file exists); a cancelled run continues from its ``last.pt``. Outputs
in ``--out``: ``results.csv`` (one row per run), a figure and ``report.md``.
"""

from __future__ import annotations

import argparse

from ..backend.architectures import DECODER_NAMES, ENCODER_NAMES
from ._training import LOSS_NAMES

KINDS = {
    "label-efficiency": "test mIoU against the number of clean fine-tuning tiles, per pretraining init",
    "noise": "how the rate and kind of label noise in the pretraining labels change what pretraining buys",
    "transfer": "what the noisy-pretrained encoder carries over to another decoder, class set or when frozen",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    kinds = p.add_subparsers(dest="study_kind", metavar="KIND")
    kinds.required = True
    for name, help_text in KINDS.items():
        kind = kinds.add_parser(name, help=help_text, description=help_text)
        if name in ("label-efficiency", "transfer"):
            kind.add_argument("--noisy", required=True, help="dataset of noisy labels to pretrain on (noisyseg export)")
        kind.add_argument("--clean", required=True, help="dataset of clean labels: K train tiles are drawn from it, its "
                                                         "val tiles pick the best epoch" +
                          (", and its labels are corrupted for pretraining" if name == "noise" else ""))
        kind.add_argument("--test", required=True, help="dataset to evaluate on (same classes as --clean)")
        kind.add_argument("--test-split", choices=("train", "val", "test", "all"), default="test",
                          help="split of --test to evaluate on (default test)")
        kind.add_argument("--out", required=True, help="study folder; rerunning the same command resumes it")
        kind.add_argument("--metric", default="miou",
                          help="what the tables and figure show: miou (default) or iou:CLASS, e.g. iou:building")
        if name == "label-efficiency":
            kind.add_argument("--k", default="2,4,8,16,all", help="clean tile counts (default 2,4,8,16,all)")
            kind.add_argument("--inits", default="scratch,noisy,simclr,simclr+noisy",
                              help="inits among scratch, noisy, simclr, simclr+noisy (default all four)")
            kind.add_argument("--seeds", default="3", help="a count (3: seeds 0,1,2) or a list such as 0,5 (default 3)")
            kind.add_argument("--transfer", choices=("auto", "encoder", "encoder+decoder", "all"), default="auto",
                              help="what fine-tuning copies from a pretrained model (default auto, see finetune)")
            kind.add_argument("--freeze", default="none", help="parts frozen while fine-tuning (default none)")
        elif name == "noise":
            kind.add_argument("--rates", default="0,0.1,0.2,0.4,0.6", help="noise rates (default 0,0.1,0.2,0.4,0.6)")
            kind.add_argument("--kinds", default="remove,shift,erode,dilate,flip",
                              help="noise kinds, each alone (default remove,shift,erode,dilate,flip)")
            kind.add_argument("--k", type=int, default=8, help="clean fine-tuning tiles (default 8)")
            kind.add_argument("--seeds", default="2", help="a count or a list of seeds (default 2)")
            kind.add_argument("--noise-seed", type=int, default=0, help="seed of the corruption (default 0)")
        else:
            kind.add_argument("--k", type=int, default=8, help="clean fine-tuning tiles (default 8)")
            kind.add_argument("--seeds", default="2", help="a count or a list of seeds (default 2)")
            kind.add_argument("--decoders", default="fpn,deeplabv3plus",
                              help="decoders to fine-tune the U-Net-pretrained encoder with (default fpn,deeplabv3plus)")
            kind.add_argument("--coarse-classes", help="coarse class set to pretrain on, merging the dataset's classes: "
                                                       "'cereals=1,2;grass=4,5;other=3,6' (names=class ids; default: "
                                                       "every non-background class in one)")
        add_training_arguments(kind)
        kind.add_argument("--overwrite", action="store_true", help="delete the study folder's runs and start again")
        kind.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                          help="print progress as JSON lines on stdout")


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("training (shared by every run of the study)")
    group.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs (default 30)")
    group.add_argument("--pretrain-epochs", type=int, default=20, help="pretraining epochs (default 20)")
    group.add_argument("--simclr-epochs", type=int, help="SimCLR epochs (default: --pretrain-epochs)")
    group.add_argument("--encoder", choices=ENCODER_NAMES, default="resnet18", help="encoder (default resnet18)")
    group.add_argument("--base-width", type=int, default=64, help="encoder width (default 64)")
    group.add_argument("--batch-size", type=int, default=8, help="tiles per batch (default 8)")
    group.add_argument("--lr", type=float, default=1e-3, help="fine-tuning learning rate (default 1e-3)")
    group.add_argument("--pretrain-lr", type=float, default=1e-3, help="pretraining learning rate (default 1e-3)")
    group.add_argument("--pretrain-label-smoothing", type=float, default=0.0,
                       help="label smoothing of noisy pretraining (default 0)")
    group.add_argument("--pretrain-loss", choices=LOSS_NAMES, default="ce",
                       help="loss of noisy pretraining: ce (default), sce or bootstrap (robust to label noise)")
    group.add_argument("--class-weights", action="store_true",
                       help="weight the loss by inverse class frequency, in pretraining and fine-tuning")
    group.add_argument("--tiles-with", metavar="CLASS",
                       help="draw the K clean tiles among those whose labels contain this class, as an operator "
                            "annotates tiles that show the objects (default: any train tile; K=all is every tile)")
    group.add_argument("--patience", type=int, help="early stopping patience in epochs (default none)")
    group.add_argument("--min-steps", type=int, help="fine-tune for at least this many optimizer steps: more epochs "
                                                     "for small K (default: --epochs whatever K)")
    group.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    group.add_argument("--encoder-weights", metavar="PATH|imagenet|none",
                       help="start the encoder of pretraining and of the scratch runs from these weights (see pretrain; "
                            "default none)")
    group.add_argument("--rgb-bands", metavar="R,G,B", help="with 3-band weights: the bands holding red, green, blue")


def _weights(args: argparse.Namespace) -> dict:
    """--encoder-weights as recorded in study.json: None for none, a file as its absolute path."""
    from pathlib import Path

    spec = (args.encoder_weights or "").strip()
    if spec.lower() in ("", "none"):
        return {"encoder_weights": None, "rgb_bands": args.rgb_bands}
    return {"encoder_weights": spec.lower() if spec.lower() == "imagenet" else str(Path(spec).expanduser().resolve()),
            "rgb_bands": args.rgb_bands}


def run(args: argparse.Namespace, reporter) -> dict:
    from ..study.grid import TrainingSettings

    settings = TrainingSettings(
        epochs=args.epochs, pretrain_epochs=args.pretrain_epochs, simclr_epochs=args.simclr_epochs,
        encoder=args.encoder, base_width=args.base_width, batch_size=args.batch_size, lr=args.lr,
        pretrain_lr=args.pretrain_lr, patience=args.patience, pretrain_label_smoothing=args.pretrain_label_smoothing,
        pretrain_loss=args.pretrain_loss,
        device=args.device, min_steps=args.min_steps, class_weights=args.class_weights,
        tiles_with=args.tiles_with, **_weights(args))
    common = dict(clean=args.clean, test=args.test, out=args.out, seeds=args.seeds, settings=settings,
                  test_split=args.test_split, metric=args.metric, reporter=reporter, overwrite=args.overwrite,
                  command=getattr(args, "command_line", None))
    if args.study_kind == "label-efficiency":
        from ..study.label_efficiency import run_label_efficiency

        return run_label_efficiency(noisy=args.noisy, ks=args.k, inits=args.inits, transfer=args.transfer,
                                    freeze=args.freeze, **common)
    if args.study_kind == "noise":
        from ..study.noise import run_noise_study

        return run_noise_study(rates=args.rates, kinds=args.kinds, k=args.k, noise_seed=args.noise_seed, **common)
    from ..study.transfer import run_transfer_study

    return run_transfer_study(noisy=args.noisy, k=args.k, decoders=args.decoders, coarse_classes=args.coarse_classes,
                              **common)
