"""``noisyseg study label-efficiency|noise|transfer``: grids of pretraining and fine-tuning
runs that measure what pretraining on noisy labels buys, on the user's own data.

Each study is resumable: rerun the same command and the runs already done are skipped (a run
is done when its result file exists); a cancelled run continues from its ``last.pt``. Outputs
in ``--out``: ``results.csv`` (one row per run), a figure and ``report.md``.
"""

from __future__ import annotations

import argparse

from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.commands import STUDIES

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
        add_spec_arguments(kind, STUDIES[name])
        kind.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                          help="print progress as JSON lines on stdout")


def _weights(args: argparse.Namespace) -> dict:
    """--encoder-weights as recorded in study.json: None for none, a file as its absolute path."""
    from pathlib import Path

    spec = (args.encoder_weights or "").strip()
    if spec.lower() in ("", "none"):
        return {"encoder_weights": None, "rgb_bands": args.rgb_bands}
    return {"encoder_weights": spec.lower() if spec.lower() == "imagenet" else str(Path(spec).expanduser().resolve()),
            "rgb_bands": args.rgb_bands}


def run(args: argparse.Namespace, reporter) -> dict:
    from ..study.settings import TrainingSettings

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
