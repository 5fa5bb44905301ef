"""``noisyseg pretrain``: train a segmentation model on noisy masks, with SimCLR, or both.

Methods: ``noisy`` (supervised on the dataset's noisy masks, Liu et al. 2024), ``simclr``
(contrastive on the images only) and ``simclr+noisy`` (SimCLR epochs, then noisy training from
that encoder). Every method writes ``model.pt``, a full segmentation model, so ``finetune``
treats them alike.
"""

from __future__ import annotations

import argparse

from ..spec.arguments import add_arguments as add_spec_arguments
from ..spec.choices import METHODS  # noqa: F401 - the methods, as the command's words
from ..spec.commands import PretrainOptions

SPEC = PretrainOptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_spec_arguments(p, SPEC)


def run(args: argparse.Namespace, reporter) -> dict:
    from pathlib import Path

    from ..backend.data import class_weights
    from ..backend.models import build_model, transfer_weights
    from ..backend.models.pretrained import load_encoder_weights
    from ..backend.simclr import SimCLRModel
    from ..backend.training import Progress, SegmentationTrainer, SimCLRTrainer
    from ..core.errors import UserError
    from ._training import (check_bands, check_crop, open_dataset, outputs, pretrained_encoder, resume_checkpoint,
                            normalization_for, run_config, start, tile_datasets, train_options)

    dataset = open_dataset(args.data, need_labels=args.method != "simclr")
    resumed = resume_checkpoint(args, dataset)
    options = train_options(args)
    crop = check_crop(dataset, args.tile_size)
    if "simclr" in args.method and args.batch_size < 2:
        raise UserError(f"SimCLR contrasts the tiles of a batch with each other: --batch-size {args.batch_size} gives it "
                        "nothing to contrast; use --batch-size 2 or more")
    if "simclr" in args.method and len(dataset.split("train")) < max(args.batch_size, 2):
        raise UserError(f"SimCLR needs at least --batch-size (and 2) train tiles per batch; dataset {args.data} has "
                        f"{len(dataset.split('train'))}; lower --batch-size")
    if resumed:
        check_bands(resumed["config"], dataset, str(Path(args.out) / "last.pt"))
    architecture = {"encoder": args.encoder, "decoder": args.decoder, "base_width": args.base_width}
    normalization = normalization_for(dataset, args.normalization)
    config = run_config(dataset, architecture, normalization, args, options, pretraining=args.method, init=None)
    build_model(config)  # checks the architecture before anything is written
    train_data, val_data = tile_datasets(dataset, dataset.split("train"), normalization, crop, options.photometric)
    encoder_weights = pretrained_encoder(args, config, dataset, resumed, reporter)

    def fresh_model():
        model = build_model(config)
        if encoder_weights is not None:
            load_encoder_weights(model.encoder, encoder_weights)
        return model

    resumed_phase = resumed["config"].get("progress", {}).get("phase") if resumed else None
    history = resumed["config"].get("history", []) if resumed else []
    context, device, run_folder, reporter = start(args, reporter)
    common = dict(run=run_folder, reporter=reporter, device=device, context=context)
    try:
        encoder_state = None
        if "simclr" in args.method and resumed_phase != "supervised":
            simclr = SimCLRModel(fresh_model().encoder)
            progress = Progress.from_config(resumed["config"], "simclr") if resumed else Progress("simclr", history=history)
            epochs = args.simclr_epochs if args.simclr_epochs is not None else args.epochs
            trainer = SimCLRTrainer(simclr, train_data, options, epochs, config={**config, "pretraining": "simclr"},
                                    progress=progress, **common)
            if resumed_phase == "simclr":
                trainer.restore(resumed)
            progress = trainer.fit()
            encoder_state, history = simclr.state_dict(), progress.history
        if "noisy" in args.method:
            model = fresh_model()
            if encoder_state is not None:
                transfer_weights(model, encoder_state, ["encoder"])
            progress = (Progress.from_config(resumed["config"], "supervised") if resumed_phase == "supervised"
                        else Progress("supervised", history=history))
            weights = class_weights(train_data.tiles, dataset.classes.num_classes) if options.class_weights else None
            trainer = SegmentationTrainer(model, train_data, val_data, dataset.classes.num_classes, options, options.epochs,
                                          config=config, progress=progress, weights=weights,
                                          ignore_index=dataset.ignore_index, **common)
            if resumed_phase == "supervised":
                trainer.restore(resumed)
            progress = trainer.fit()
    except BaseException:
        run_folder.abort()
        raise
    finally:
        context.shutdown()
    return outputs(run_folder, progress)
