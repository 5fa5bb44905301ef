"""Step 4: fine-tune the pretrained model on the tiles marked done, and compare it with the
pretrained model alone and (optionally) with the same model trained from scratch."""

from __future__ import annotations

import json
from pathlib import Path

from qgis.core import Qgis
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP
from qgis.PyQt.QtWidgets import QCheckBox, QLabel, QVBoxLayout

from ...spec.choices import DECODERS as DECODER_NAMES
from ...spec.commands import FinetuneOptions
from .. import annotation
from ..loss_curve import LossCurve
from ..metrics_table import MetricsTable
from ..runner import Step
from .base import StepPage, class_weights_box, combo, form, set_combo, spin_for, tr

TRANSFERS = ((QT_TRANSLATE_NOOP("NoisySegPanel", "automatic (recommended)"), "auto"),
             (QT_TRANSLATE_NOOP("NoisySegPanel", "encoder"), "encoder"),
             (QT_TRANSLATE_NOOP("NoisySegPanel", "encoder and decoder"), "encoder+decoder"),
             (QT_TRANSLATE_NOOP("NoisySegPanel", "whole model"), "all"))
FREEZES = ((QT_TRANSLATE_NOOP("NoisySegPanel", "nothing: fine-tune all"), "none"),
           (QT_TRANSLATE_NOOP("NoisySegPanel", "the encoder"), "encoder"))
MIN_DONE_TILES = 2


class FinetuneStep(StepPage):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self._curve_live = False
        layout = QVBoxLayout(self)
        fields = form()
        self.transfer = combo([(tr(text), value) for text, value in TRANSFERS], "noisyseg_transfer")
        self.transfer.setToolTip(tr("What the fine-tuning starts from. Automatic: the whole pretrained model when the "
                                    "classes and decoder are unchanged, else its encoder with a new decoder and head."))
        fields.addRow(tr("Transfer"), self.transfer)
        self.freeze = combo([(tr(text), value) for text, value in FREEZES], "noisyseg_freeze")
        fields.addRow(tr("Freeze"), self.freeze)
        self.decoder = combo([(tr("the pretrained one"), ""), *DECODER_NAMES], "noisyseg_finetune_decoder")
        fields.addRow(tr("Decoder"), self.decoder)
        self.epochs = spin_for("noisyseg_finetune_epochs", FinetuneOptions, "epochs", minimum=1)
        fields.addRow(tr("Epochs"), self.epochs)
        self.class_weights = class_weights_box("noisyseg_finetune_class_weights")
        fields.addRow(self.class_weights)
        self.scratch = QCheckBox(tr("Also train from scratch on the same tiles, for comparison"))
        self.scratch.setObjectName("noisyseg_scratch")
        fields.addRow(self.scratch)
        layout.addLayout(fields)
        self.start_button = self.job_button(tr("Start fine-tuning"), "noisyseg_finetune", self.start)
        layout.addWidget(self.start_button)
        self.curve = LossCurve()
        layout.addWidget(self.curve)
        layout.addWidget(QLabel(tr("On the clean validation tiles:")))
        self.metrics = MetricsTable("noisyseg_finetune_metrics")
        self.metrics.setMaximumHeight(140)
        layout.addWidget(self.metrics)

    def restore(self, state) -> None:
        settings = state["finetune"]
        set_combo(self.transfer, settings["transfer"])
        set_combo(self.freeze, settings["freeze"])
        set_combo(self.decoder, settings["decoder"])
        self.epochs.setValue(int(settings["epochs"]))
        self.scratch.setChecked(bool(settings["scratch"]))
        self.class_weights.setChecked(bool(settings["class_weights"]))
        self.refresh()

    def store(self, state) -> None:
        state["finetune"] = {"transfer": self.transfer.currentData(), "freeze": self.freeze.currentData(),
                             "decoder": self.decoder.currentData(), "epochs": self.epochs.value(),
                             "scratch": self.scratch.isChecked(), "class_weights": self.class_weights.isChecked()}

    def refresh(self) -> None:
        run = self.latest_run()
        self.metrics.show_metrics(run["metrics"] if run else {})

    def latest_run(self):
        return next((r for r in reversed(self.state["finetune_runs"]) if r.get("complete")), None)

    def start(self) -> bool:
        pretrained = self.dock.pretrain_step.selected_run()
        package = self.dock.annotate_step.current_package()
        problem = (tr("Pretrain a model first (step 2).") if pretrained is None or not pretrained["complete"] else
                   tr("Open the clean-label layer and annotate tiles first (step 3).") if package is None else None)
        if problem is None:
            try:
                annotation.commit_edits(package)
            except annotation.AnnotationError as exc:
                problem = str(exc)
            if problem is None and annotation.done_count(package) < MIN_DONE_TILES:
                problem = tr("Mark at least {} tiles done: one of them is kept for validation.").format(MIN_DONE_TILES)
        if problem:
            self.dock.show_message(problem, Qgis.MessageLevel.Warning)
            return False
        self.store(self.state)
        settings = self.state["finetune"]
        config = json.loads((Path(pretrained["path"]) / "config.json").read_text(encoding="utf-8"))
        clean = self.state.work_path("clean")
        folder = self.state.next_run_folder("finetune")
        scratch = folder.with_name(folder.name.replace("finetune", "scratch"))
        init = Path(pretrained["path"]) / "model.pt"
        run = {"path": str(folder), "init": str(init), "complete": False, "metrics": {},
               "scratch": str(scratch) if settings["scratch"] else None}
        self.state["finetune_runs"].append(run)
        self.state["clean_dataset"] = str(clean)
        weights = ["--class-weights"] if settings["class_weights"] else []  # both runs, for a fair comparison
        common = ["--data", clean, "--epochs", settings["epochs"], *weights]
        decoder = settings["decoder"] or config["decoder"]

        def record(key: str):
            def store(outputs: dict) -> None:
                run["metrics"][key] = outputs
            return store

        steps = [
            Step(tr("Building the clean dataset from the tiles marked done"),
                 ["clean", "--data", self.state["dataset"], "--labels", annotation.clean_layer_uri(package),
                  "--tiles", annotation.tiles_layer_uri(package), "--out", clean, "--overwrite"]),
            Step(tr("Fine-tuning on the clean tiles"),
                 ["finetune", *common, "--init", init, "--out", folder, "--transfer", settings["transfer"],
                  "--freeze", settings["freeze"], *(["--decoder", settings["decoder"]] if settings["decoder"] else [])],
                 lambda _outputs: setattr(self, "_curve_live", False)),
        ]
        if run["scratch"]:
            steps.append(Step(tr("Training from scratch on the same tiles"),
                              ["finetune", *common, "--init", "none", "--out", scratch, "--encoder", config["encoder"],
                               "--base-width", config["base_width"], "--decoder", decoder]))
        evaluated = [("fine-tuned", folder / "model.pt"), ("pretrained", init)]
        if run["scratch"]:
            evaluated.append(("scratch", scratch / "model.pt"))
        for key, model in evaluated:
            steps.append(Step(tr("Evaluating the {} model").format(tr(key)),
                              ["evaluate", "--model", model, "--data", clean, "--split", "val"], record(key)))
        steps.append(Step(tr("Exporting the fine-tuned model to ONNX"),
                          ["export-onnx", "--model", folder / "model.pt", "--out", folder / "model.onnx", "--overwrite"],
                          lambda _outputs: run.update(complete=True)))
        self.curve.clear()
        self._curve_live = True
        return self.dock.run(steps, on_success=self._finished, listener=self._curve_event)

    def _curve_event(self, record: dict) -> None:
        if self._curve_live:  # the fine-tuning's curve only, not the scratch run's after it
            self.curve.add_event(record)

    def _finished(self) -> None:
        run = self.latest_run()
        self.metrics.show_metrics(run["metrics"])
        self.dock.predict_step.refresh()
