"""Step 4: fine-tune the pretrained model on the training tiles marked done, and compare it with
the pretrained model alone and (optionally) with the same model trained from scratch, all three
scored on the same check tiles.

Model selection never looks at the check tiles: the clean dataset gets no validation split
(``--val-fraction 0``), so each run keeps the model of its lowest training loss, which under the
cosine schedule is the end of a fixed schedule. A validation split carved out of a handful of
training tiles would cost a third of the labels and pick the model on one or two tiles (the
noise of that pick is as large as the differences it decides); the noisy dataset's validation
split would pick the model that best reproduces the old map's errors."""

from __future__ import annotations

import json
from pathlib import Path

from qgis.core import Qgis
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP
from qgis.PyQt.QtWidgets import QLabel, QVBoxLayout

from ...spec.choices import DECODERS as DECODER_NAMES
from ...spec.commands import CleanOptions, EvaluateOptions, ExportOnnxOptions, FinetuneOptions, command_argv
from .. import annotation
from ..loss_curve import LossCurve
from ..metrics_table import MetricsTable
from ..runner import Step
from .base import StepPage, WrappedCheckBox, class_weights_box, combo, form, set_combo, spin_for, tr

TRANSFERS = ((QT_TRANSLATE_NOOP("NoisySegPanel", "automatic (recommended)"), "auto"),
             (QT_TRANSLATE_NOOP("NoisySegPanel", "encoder"), "encoder"),
             (QT_TRANSLATE_NOOP("NoisySegPanel", "encoder and decoder"), "encoder+decoder"),
             (QT_TRANSLATE_NOOP("NoisySegPanel", "whole model"), "all"))
FREEZES = ((QT_TRANSLATE_NOOP("NoisySegPanel", "nothing: fine-tune all"), "none"),
           (QT_TRANSLATE_NOOP("NoisySegPanel", "the encoder"), "encoder"))
MIN_TRAINING_TILES = 1


class FinetuneStep(StepPage):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self._curve_live = False
        self._finished_title = ""
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
        self.scratch = WrappedCheckBox(tr("Also train from scratch on the same tiles, for comparison"), "noisyseg_scratch")
        fields.addRow(self.scratch)
        layout.addLayout(fields)
        self.start_button = self.job_button(tr("Start fine-tuning"), "noisyseg_finetune", self.start)
        layout.addWidget(self.start_button)
        self.curve_title = QLabel()
        self.curve_title.setObjectName("noisyseg_finetune_curve_title")
        self.curve_title.setWordWrap(True)
        layout.addWidget(self.curve_title)
        self.curve = LossCurve()
        layout.addWidget(self.curve)
        self.metrics_caption = QLabel(tr("Scores on the check tiles appear here after fine-tuning."))
        self.metrics_caption.setObjectName("noisyseg_metrics_caption")
        self.metrics_caption.setWordWrap(True)
        layout.addWidget(self.metrics_caption)
        self.metrics = MetricsTable("noisyseg_finetune_metrics")
        layout.addWidget(self.metrics)
        self.verdict = QLabel()
        self.verdict.setObjectName("noisyseg_metrics_verdict")
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)

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
        self.show_metrics(run["metrics"] if run else {})

    def show_metrics(self, metrics: dict) -> None:
        self.metrics.show_metrics(metrics)
        self.metrics_caption.setText(describe_basis(metrics) or tr("Scores on the check tiles appear here after "
                                                                   "fine-tuning."))
        self.verdict.setText(verdict(metrics))

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
            if problem is None and len(annotation.training_done_ids(package)) < MIN_TRAINING_TILES:
                problem = tr("Correct and mark done at least one training tile (suggested or selected) first.")
            if problem is None and not annotation.check_tile_ids(package, done=True):
                problem = tr("Correct and mark done some check tiles first (Draw check tiles, step 3): the models "
                             "are scored on them, and only on them.")
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
        # both runs: the same tiles, epochs and class weights, for a fair comparison
        common = dict(data=str(clean), epochs=int(settings["epochs"]), class_weights=bool(settings["class_weights"]))
        decoder = settings["decoder"] or config["decoder"]

        def record(key: str):
            def store(outputs: dict) -> None:
                run["metrics"][key] = outputs
            return store

        steps = [
            Step(tr("Building the clean dataset from the tiles marked done"),
                 command_argv(CleanOptions(data=str(self.state["dataset"]), labels=annotation.clean_layer_uri(package),
                                           tiles=annotation.tiles_layer_uri(package), out=str(clean), val_fraction=0.0,
                                           overwrite=True)),
                 lambda outputs: annotation.set_splits(package, outputs.get("tile_splits", {}))),
            Step(tr("Fine-tuning on the clean tiles"),
                 command_argv(FinetuneOptions(**common, init=str(init), out=str(folder), transfer=settings["transfer"],
                                              freeze=settings["freeze"], decoder=settings["decoder"] or None)),
                 lambda _outputs: setattr(self, "_curve_live", False)),
        ]
        steps[1].arguments = self._started(tr("Training curve: fine-tuning (running)"), steps[1].arguments)
        if run["scratch"]:
            scratch_arguments = command_argv(FinetuneOptions(**common, init="none", out=str(scratch),
                                                             encoder=config["encoder"],
                                                             base_width=int(config["base_width"]), decoder=decoder))

            def scratch_started() -> list:  # asked for when the step starts: the curve follows the running job
                self._follow(tr("Training curve: from scratch (running)"), tr("Training curve: from scratch"))
                return scratch_arguments

            steps.append(Step(tr("Training from scratch on the same tiles"), scratch_started))
        evaluated = [("fine-tuned", folder / "model.pt"), ("pretrained", init)]
        if run["scratch"]:
            evaluated.append(("scratch", scratch / "model.pt"))
        for key, model in evaluated:
            steps.append(Step(tr("Evaluating the {} model").format(tr(key)),
                              command_argv(EvaluateOptions(model=str(model), data=str(clean), split="test")),
                              record(key)))
        steps.append(Step(tr("Exporting the fine-tuned model to ONNX"),
                          command_argv(ExportOnnxOptions(model=str(folder / "model.pt"), out=str(folder / "model.onnx"),
                                                         overwrite=True)),
                          lambda _outputs: run.update(complete=True)))
        self.curve.clear()
        self.curve_title.setText("")
        return self.dock.run(steps, on_success=self._finished, listener=self._curve_event)

    def _started(self, title: str, arguments: list):
        def started() -> list:
            self._follow(title, tr("Training curve: fine-tuning"))
            return arguments
        return started

    def _follow(self, title: str, finished_title: str) -> None:
        self.curve.clear()
        self.curve_title.setText(title)
        self._finished_title = finished_title
        self._curve_live = True

    def _curve_event(self, record: dict) -> None:
        if self._curve_live:  # the running training's curve; evaluation and ONNX export leave it as it is
            self.curve.add_event(record)

    def _finished(self) -> None:
        self.curve_title.setText(self._finished_title)
        run = self.latest_run()
        self.show_metrics(run["metrics"])
        self.dock.set_status(result_line(run["metrics"]))
        self.dock.predict_step.refresh()


def _interval_text(interval) -> str:
    return f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else ""


def describe_basis(metrics: dict) -> str:
    """What the scores rest on: how many check tiles and labelled pixels, and the interval."""
    result = next((m for m in metrics.values() if m), None)
    if not result:
        return ""
    text = tr("On {tiles} check tiles ({pixels:,} labelled pixels), never trained on.").format(
        tiles=result.get("tiles", 0), pixels=int(result.get("pixels", 0)))
    if (result.get("interval") or {}).get("miou"):
        text += " " + tr("Under each score: its 90 % interval, by resampling the check tiles.")
    return text


def verdict(metrics: dict) -> str:
    """In words: whether the check tiles tell the fine-tuned model from the others."""
    from ...core.metrics import paired_difference

    tuned = metrics.get("fine-tuned") or {}
    if not tuned.get("per_tile"):
        return ""
    lines = []
    for key, name in (("scratch", tr("the model trained from scratch")), ("pretrained", tr("the pretrained model alone"))):
        other = metrics.get(key) or {}
        if not other.get("per_tile"):
            continue
        try:
            comparison = paired_difference([t["confusion_matrix"] for t in tuned["per_tile"]],
                                           [t["confusion_matrix"] for t in other["per_tile"]])
        except ValueError:
            continue
        gap = comparison["difference"]
        if comparison["resolved"]:
            text = (tr("Fine-tuned beats {} by {:.2f} mIoU{}.") if gap > 0 else
                    tr("Fine-tuned is worse than {} by {:.2f} mIoU{}.")).format(name, abs(gap),
                                                                               _interval_text(comparison["interval"]))
        else:
            text = tr("The check tiles cannot tell fine-tuned and {} apart (difference {:+.2f}{}); correct more check "
                      "tiles to find out.").format(name, gap, _interval_text(comparison["interval"]))
        lines.append(text)
    return " ".join(lines)


def result_line(metrics: dict) -> str:
    """E.g. "Fine-tuned: check mIoU 0.31 [0.25, 0.37] vs scratch 0.18, pretrained 0.22"."""
    tuned = metrics.get("fine-tuned") or {}
    if tuned.get("miou") is None:
        return tr("Fine-tuning finished.")
    text = tr("Fine-tuned: check mIoU {:.2f}{}").format(tuned["miou"], _interval_text((tuned.get("interval") or {}).get("miou")))
    others = [tr("{} {:.2f}").format(tr(label), metrics[key]["miou"]) for key, label in
              (("scratch", "scratch"), ("pretrained", "pretrained")) if (metrics.get(key) or {}).get("miou") is not None]
    return text + (tr(" vs ") + ", ".join(others) if others else "")
