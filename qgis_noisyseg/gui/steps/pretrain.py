"""Step 2: pretrain on the noisy masks (or SimCLR, or both), with a live loss curve; runs are kept."""

from __future__ import annotations

import json
from pathlib import Path

from qgis.core import Qgis
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP, Qt
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from ...spec.choices import DECODERS as DECODER_NAMES
from ...spec.choices import DEFAULT_BASE_WIDTH
from ...spec.choices import ENCODERS as ENCODER_NAMES
from ...spec.commands import ExportOnnxOptions, PretrainOptions, command_argv
from ...spec.fields import option_named
from ..environment import describe_device
from ..loss_curve import LossCurve
from ..runner import Step
from .base import StepPage, class_weights_box, combo, form, set_combo, spin_for, tr

RESUME = option_named(PretrainOptions, "resume").flag  # added to a stored run's arguments to continue it

METHODS = ((QT_TRANSLATE_NOOP("NoisySegPanel", "noisy"), "noisy"), (QT_TRANSLATE_NOOP("NoisySegPanel", "SimCLR"), "simclr"),
           (QT_TRANSLATE_NOOP("NoisySegPanel", "SimCLR, then noisy"), "simclr+noisy"))
ENCODER_WEIGHTS = ((QT_TRANSLATE_NOOP("NoisySegPanel", "none (random)"), "none"),
                   (QT_TRANSLATE_NOOP("NoisySegPanel", "ImageNet (torchvision, downloaded once)"), "imagenet"),
                   (QT_TRANSLATE_NOOP("NoisySegPanel", "file…"), "file"))


# Width and epochs by device. A ResNet-18 U-Net of width 64 trained for 20 epochs is what a GPU
# does in minutes; on a CPU it takes hours on a real scene, so the CPU default is a quarter of
# the compute per epoch (width 32) and half the epochs.
DEVICE_DEFAULTS = {"gpu": (DEFAULT_BASE_WIDTH, 20), "cpu": (32, 10)}


class PretrainStep(StepPage):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self._running_path = ""
        self._running_epoch = None
        layout = QVBoxLayout(self)
        fields = form()
        self.method = combo([(tr(text), value) for text, value in METHODS], "noisyseg_method")
        self.method.setToolTip(tr("noisy: learn from the exported (noisy) masks. SimCLR: learn from the imagery "
                                  "alone, no labels. Both: SimCLR first, then the noisy masks."))
        fields.addRow(tr("Method"), self.method)
        self.encoder = combo(ENCODER_NAMES, "noisyseg_encoder")
        fields.addRow(tr("Encoder"), self.encoder)
        self.decoder = combo(DECODER_NAMES, "noisyseg_decoder")
        fields.addRow(tr("Decoder"), self.decoder)
        self.base_width = spin_for("noisyseg_base_width", PretrainOptions, "base_width")
        self.base_width.setToolTip(tr("Width of the encoder's first layer: 64 is the standard ResNet; smaller "
                                      "trains faster on a CPU."))
        fields.addRow(tr("Base width"), self.base_width)
        self.encoder_weights = combo([(tr(text), value) for text, value in ENCODER_WEIGHTS], "noisyseg_encoder_weights")
        self.encoder_weights.setToolTip(tr("Start the encoder from pretrained ResNet weights instead of random ones: "
                                           "torchvision's ImageNet weights, or a torchvision or timm ResNet state dict "
                                           "(.pth) such as TorchGeo's SSL4EO-S12 ResNets. They fit base width 64 only "
                                           "(ImageNet sets it)."))
        self.encoder_weights.activated.connect(self._weights_chosen)
        fields.addRow(tr("Encoder weights"), self.encoder_weights)
        self.weights_file = QgsFileWidget()
        self.weights_file.setObjectName("noisyseg_encoder_weights_file")
        self.weights_file.setFilter(tr("PyTorch weights (*.pth *.pt)"))
        self.weights_file.setEnabled(False)
        fields.addRow(tr("Weights file"), self.weights_file)
        self.epochs = spin_for("noisyseg_pretrain_epochs", PretrainOptions, "epochs", minimum=1)
        fields.addRow(tr("Epochs"), self.epochs)
        self.class_weights = class_weights_box("noisyseg_pretrain_class_weights")
        fields.addRow(self.class_weights)
        self.device = QLabel(describe_device(None))
        self.device.setObjectName("noisyseg_device")
        self.device.setWordWrap(True)
        fields.addRow(tr("Device"), self.device)
        layout.addLayout(fields)
        buttons = QHBoxLayout()
        self.start_button = self.job_button(tr("Start pretraining"), "noisyseg_pretrain", self.start)
        self.resume_button = self.job_button(tr("Resume selected run"), "noisyseg_resume", self.resume)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.resume_button)
        layout.addLayout(buttons)
        self.curve = LossCurve()
        layout.addWidget(self.curve)
        runs_caption = QLabel(tr("Runs (the selected one is used by the next steps):"))
        runs_caption.setWordWrap(True)
        layout.addWidget(runs_caption)
        self.runs = QListWidget()
        self.runs.setObjectName("noisyseg_pretrain_runs")
        self.runs.setMaximumHeight(90)
        self.runs.currentItemChanged.connect(self._run_selected)
        layout.addWidget(self.runs)

    def restore(self, state) -> None:
        settings = state["pretrain"]
        set_combo(self.method, settings["method"])
        set_combo(self.encoder, settings["encoder"])
        set_combo(self.decoder, settings["decoder"])
        self.epochs.setValue(int(settings["epochs"]))
        self.base_width.setValue(int(settings["base_width"]))
        self.class_weights.setChecked(bool(settings["class_weights"]))
        set_combo(self.encoder_weights, settings["encoder_weights"])
        self.weights_file.setFilePath(settings["encoder_weights_file"])
        self.weights_file.setEnabled(settings["encoder_weights"] == "file")
        self.refresh()

    def store(self, state) -> None:
        state["pretrain"] = {"method": self.method.currentData(), "encoder": self.encoder.currentData(),
                             "decoder": self.decoder.currentData(), "epochs": self.epochs.value(),
                             "base_width": self.base_width.value(), "class_weights": self.class_weights.isChecked(),
                             "encoder_weights": self.encoder_weights.currentData(),
                             "encoder_weights_file": self.weights_file.filePath()}
        item = self.runs.currentItem()
        if item is not None:
            state["selected_pretrain_run"] = item.data(Qt.ItemDataRole.UserRole)

    def refresh(self) -> None:
        selected = self.state["selected_pretrain_run"]
        self.runs.blockSignals(True)
        self.runs.clear()
        running = self.dock.running_epoch if self.dock.runner.busy else None
        for run in self.state["pretrain_runs"]:
            if run["path"] == self._running_path and self.dock.runner.busy:
                status = (tr("training, epoch {} of {}").format(*running) if running else tr("starting"))
            else:
                status = tr("complete") if run["complete"] else (
                    tr("stopped, resumable") if (Path(run["path"]) / "last.pt").is_file() else tr("not started"))
            item = QListWidgetItem(f"{Path(run['path']).name} · {run['method']} · {status}")
            item.setData(Qt.ItemDataRole.UserRole, run["path"])
            self.runs.addItem(item)
            if run["path"] == selected:
                self.runs.setCurrentItem(item)
        self.runs.blockSignals(False)
        run = self.selected_run()
        self.resume_button.setEnabled(not self.dock.runner.busy and run is not None and not run["complete"]
                                      and (Path(run["path"]) / "last.pt").is_file())

    def _weights_chosen(self, _index: int) -> None:
        choice = self.encoder_weights.currentData()
        self.weights_file.setEnabled(choice == "file")
        if choice == "imagenet":
            self.base_width.setValue(DEFAULT_BASE_WIDTH)  # torchvision's width, the only one its weights fit

    def encoder_weights_option(self, settings: dict) -> str | None:
        """``--encoder-weights``' value for the chosen weights (a file, imagenet or none); None
        (with a message) when the file is missing."""
        choice = settings["encoder_weights"]
        if choice == "file":
            path = settings["encoder_weights_file"]
            if not path or not Path(path).is_file():
                self.dock.show_message(tr("Choose the encoder weights file (.pth), or no weights."), Qgis.MessageLevel.Warning)
                return None
            return path
        return choice if choice == "imagenet" else "none"

    def show_device(self, report: dict) -> None:
        """Shows the device, and sets the width and epochs that suit it while the operator has
        changed neither and no run exists yet."""
        self.device.setText(describe_device(report))
        if self.state["pretrain_runs"]:
            return
        kind = "gpu" if report.get("gpu") else "cpu"
        untouched = {(w, e) for w, e in DEVICE_DEFAULTS.values()}
        if (self.base_width.value(), self.epochs.value()) in untouched:
            width, epochs = DEVICE_DEFAULTS[kind]
            self.base_width.setValue(width)
            self.epochs.setValue(epochs)

    def selected_run(self):
        return next((r for r in self.state["pretrain_runs"] if r["path"] == self.state["selected_pretrain_run"]), None)

    def _run_selected(self, item, _previous) -> None:
        if item is None:
            return
        self.state["selected_pretrain_run"] = item.data(Qt.ItemDataRole.UserRole)
        history = Path(item.data(Qt.ItemDataRole.UserRole)) / "history.json"
        if history.is_file() and not self.dock.runner.busy:
            self.curve.set_history(json.loads(history.read_text(encoding="utf-8")))
        self.refresh()

    def start(self) -> bool:
        dataset = self.state["dataset"]
        if not dataset or not (Path(dataset) / "manifest.json").is_file():
            self.dock.show_message(tr("Export a noisy dataset first (step 1)."), Qgis.MessageLevel.Warning)
            return False
        self.store(self.state)
        settings = self.state["pretrain"]
        weights = self.encoder_weights_option(settings)
        if weights is None:
            return False
        folder = self.state.next_run_folder(f"pretrain-{settings['method'].replace('+', '-')}")
        arguments = command_argv(PretrainOptions(
            data=str(dataset), out=str(folder), method=settings["method"], encoder=settings["encoder"],
            decoder=settings["decoder"], epochs=int(settings["epochs"]), base_width=int(settings["base_width"]),
            class_weights=bool(settings["class_weights"]), encoder_weights=weights))
        run = {"path": str(folder), "method": settings["method"], "complete": False, "arguments": arguments}
        self.state["pretrain_runs"].append(run)
        self.state["selected_pretrain_run"] = run["path"]
        return self._launch(run, arguments)

    def resume(self) -> bool:
        run = self.selected_run()
        if run is None or run["complete"]:
            return False
        return self._launch(run, [*run["arguments"], RESUME])

    def _launch(self, run: dict, arguments: list) -> bool:
        self.curve.clear()
        if RESUME in arguments and (Path(run["path"]) / "history.json").is_file():
            self.curve.set_history(json.loads((Path(run["path"]) / "history.json").read_text(encoding="utf-8")))

        result: dict = {}

        def trained(outputs: dict) -> None:
            run["complete"] = True
            result.update(outputs)

        steps = [Step(tr("Pretraining ({})").format(run["method"]), arguments, trained),
                 Step(tr("Exporting the model to ONNX"),
                      command_argv(ExportOnnxOptions(model=str(Path(run["path"]) / "model.pt"),
                                                     out=str(Path(run["path"]) / "model.onnx"), overwrite=True)))]
        self._running_path = run["path"]
        self._running_epoch = None

        def listen(record: dict) -> None:
            self.curve.add_event(record)
            epoch = (record.get("epoch"), record.get("epochs")) if record.get("event") == "progress" else None
            if epoch and epoch[0] and epoch != self._running_epoch:  # the run list follows the epochs
                self._running_epoch = epoch
                self.refresh()

        def finished() -> None:
            miou = result.get("final_val_miou")
            text = tr("Pretrained {name} ({epochs} epochs)").format(name=Path(run["path"]).name, epochs=result.get("epochs"))
            if miou is not None:
                text += tr(", mIoU {:.2f} against the old map on its validation tiles").format(miou)
            self.dock.set_status(text)

        started = self.dock.run(steps, on_success=finished, listener=listen)
        self.refresh()
        return started
