"""``noisyseg finetune``: train on a few clean tiles, starting from a pretrained ``model.pt``.

The class set may differ from pretraining: the head (and the decoder, when ``--transfer``
leaves it out) starts fresh. The pretrained model's normalisation is kept, since its encoder
learned features of imagery normalised that way; ``--init none`` trains from scratch.
"""

from __future__ import annotations

import argparse

from ..backend.architectures import DECODER_NAMES, DEFAULT_BASE_WIDTH, ENCODER_NAMES
from ._training import add_encoder_weights_arguments, add_training_arguments

TRANSFERS = {"encoder": ["encoder"], "encoder+decoder": ["encoder", "decoder"], "all": ["encoder", "decoder", "head"]}
AUTO = "auto"
ENCODER_LR_SCALE = 0.1  # chosen by benchmarks/bench_quality.py (docs/results.md, "Cross-scene quality")


def resolve_transfer(requested: str, pretrained_classes: list, dataset_classes: list, decoder_changes: bool,
                     pretraining: str | None = None) -> str:
    """``auto``: the whole model when it was trained on masks and the class set and decoder are
    unchanged (the noisy-pretrained head already knows the classes; re-initialising it threw away
    most of what pretraining bought in our Denmark runs, see docs/results.md), otherwise the
    encoder alone (always after SimCLR alone, whose decoder and head never trained)."""
    if requested != AUTO:
        return requested
    if pretraining == "simclr":
        return "encoder"
    return "all" if same_class_set(pretrained_classes, dataset_classes) and not decoder_changes else "encoder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_training_arguments(p, epochs=30)
    p.add_argument("--init", required=True, help="pretrained RUN/model.pt, or 'none' to train from scratch")
    p.add_argument("--transfer", choices=[AUTO, *TRANSFERS], default=AUTO,
                   help="parts copied from --init; auto (default): all when the classes and decoder are unchanged, "
                        "else the encoder")
    p.add_argument("--encoder-lr-scale", type=float, default=ENCODER_LR_SCALE,
                   help=f"with --init a model: the encoder learns at --lr times this, the decoder and head at --lr "
                        f"(default {ENCODER_LR_SCALE:g})")
    p.add_argument("--freeze", default="none", help="'none', 'encoder', or blocks such as stem,layer1,layer2 (default none)")
    p.add_argument("--decoder", choices=DECODER_NAMES, help="decoder (default: --init's, or unet)")
    p.add_argument("--encoder", choices=ENCODER_NAMES, default="resnet18", help="encoder with --init none (default resnet18)")
    p.add_argument("--base-width", type=int, default=DEFAULT_BASE_WIDTH, help="encoder width with --init none")
    p.add_argument("--max-tiles", type=int, help="train on this many train tiles, drawn with --seed (default all)")
    p.add_argument("--tiles-with", metavar="CLASS",
                   help="train only on train tiles whose labels contain this class (name or id), as an operator "
                        "picks tiles that show the objects (default: any tile)")
    add_encoder_weights_arguments(p)


def run(args: argparse.Namespace, reporter) -> dict:
    from pathlib import Path

    from ..backend.checkpoint import load_checkpoint, require_finite_weights
    from ..backend.data import class_weights, select_tiles
    from ..backend.models import build_model, freeze, transfer_weights
    from ..backend.models.pretrained import NONE, load_encoder_weights
    from ..backend.training import Progress, SegmentationTrainer
    from ..core.errors import UserError
    from ._training import (check_bands, check_crop, check_labelled, open_dataset, outputs, pretrained_encoder,
                            normalization_for, resume_checkpoint, run_config, start, tile_datasets,
                            train_options)

    dataset = open_dataset(args.data, need_labels=False)
    resumed = resume_checkpoint(args, dataset)
    options = train_options(args)
    crop = check_crop(dataset, args.tile_size)
    containing = dataset.class_named(args.tiles_with, "--tiles-with") if args.tiles_with else None
    train_tiles = select_tiles(dataset.split("train"), args.max_tiles, args.seed, containing)
    check_labelled(train_tiles, args.data)
    if args.init.lower() != "none" and str(args.encoder_weights).lower() != NONE:
        raise UserError(f"--encoder-weights starts a model from scratch (--init none); --init {args.init} already "
                        "brings its encoder (its config records the weights it started from)")
    pretrained = None if args.init.lower() == "none" else load_checkpoint(args.init)
    if pretrained is None:
        options.encoder_lr_scale = 1.0  # a fresh encoder learns at --lr
    if pretrained:
        source = pretrained["config"]
        check_bands(source, dataset, args.init)
        require_finite_weights(pretrained["state_dict"], args.init)
        args.transfer = resolve_transfer(args.transfer, source.get("classes", []), dataset.manifest["classes"],
                                         bool(args.decoder and args.decoder != source["decoder"]), source.get("pretraining"))
        if "head" in TRANSFERS[args.transfer] and not same_class_set(source.get("classes", []), dataset.manifest["classes"]):
            raise UserError(f"--transfer {args.transfer} copies the head, but {args.init} was trained on other classes than "
                            f"dataset {args.data}; use --transfer encoder+decoder (or auto), which starts a fresh head")
        architecture = {k: source[k] for k in ("encoder", "base_width", "decoder", "decoder_channels") if k in source}
        if args.decoder and args.decoder != source["decoder"]:
            if "decoder" in TRANSFERS[args.transfer]:
                raise UserError(f"--transfer {args.transfer} copies the decoder, but --decoder {args.decoder} differs from "
                                f"{args.init}'s {source['decoder']}; use --transfer encoder")
            architecture = {"encoder": source["encoder"], "base_width": source["base_width"], "decoder": args.decoder}
        normalization = normalization_for(dataset, source["normalization"].get("scheme", "dataset"),
                                          source["normalization"])
        options.normalization = normalization["scheme"]
    else:
        architecture = {"encoder": args.encoder, "decoder": args.decoder or "unet", "base_width": args.base_width}
        normalization = normalization_for(dataset, args.normalization)
    config = run_config(dataset, architecture, normalization, args, options, init=None if pretrained is None else str(args.init),
                        pretraining=None if pretrained is None else pretrained["config"].get("pretraining"),
                        transfer=None if pretrained is None else args.transfer, freeze=args.freeze,
                        max_tiles=args.max_tiles, tiles_with=containing,
                        train_tiles=[t["id"] for t in train_tiles] if args.max_tiles or args.tiles_with else None)
    freeze_parts = [part.strip() for part in args.freeze.split(",") if part.strip()] if args.freeze != "none" else []
    check_trainable(build_model(config), freeze_parts, args.freeze)  # the architecture too, before anything is written
    if resumed:
        check_bands(resumed["config"], dataset, str(Path(args.out) / "last.pt"))
    encoder_weights = pretrained_encoder(args, config, dataset, resumed, reporter)
    train_data, val_data = tile_datasets(dataset, train_tiles, normalization, crop, options.photometric)
    progress = Progress.from_config(resumed["config"], "supervised") if resumed else Progress("supervised")
    weights = class_weights(train_tiles, dataset.classes.num_classes) if options.class_weights else None
    inputs = [] if pretrained is None else [(args.init, "--init")]
    context, device, run_folder, reporter = start(args, reporter, inputs)
    try:
        model = build_model(config)  # after seeding, so the fresh parts are reproducible
        if encoder_weights is not None:
            load_encoder_weights(model.encoder, encoder_weights)
        elif pretrained and not resumed:
            report = transfer_weights(model, pretrained["state_dict"], TRANSFERS[args.transfer])
            reporter.info(f"copied {report['copied']} tensors ({args.transfer}) from {args.init}",
                          skipped=report["skipped_shape_mismatch"], missing=report["missing"])
        if freeze_parts:
            freeze(model, freeze_parts)
        trainer = SegmentationTrainer(model, train_data, val_data, dataset.classes.num_classes, options, options.epochs,
                                      run=run_folder, reporter=reporter, device=device, context=context, config=config,
                                      progress=progress, weights=weights, ignore_index=dataset.ignore_index)
        if resumed:
            trainer.restore(resumed)
        progress = trainer.fit()
    except BaseException:
        run_folder.abort()
        raise
    finally:
        context.shutdown()
    return outputs(run_folder, progress)


def same_class_set(a: list, b: list) -> bool:
    return [(c["id"], c["name"]) for c in a] == [(c["id"], c["name"]) for c in b]


def check_trainable(model, parts: list, text: str) -> None:
    from ..backend.models import freeze
    from ..core.errors import UserError

    if parts:
        freeze(model, parts)
    if not any(parameter.requires_grad for parameter in model.parameters()):
        raise UserError(f"--freeze {text} freezes the whole model, which leaves nothing to train; "
                        "freeze fewer parts, e.g. --freeze encoder")
