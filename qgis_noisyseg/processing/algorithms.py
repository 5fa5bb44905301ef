"""The Processing algorithms: one per ``noisyseg`` command, with the command's parameters.

Each algorithm's parameters come from its command's spec (qgis_noisyseg/spec/commands.py)
through processing/parameters.py: the same defaults, bounds, choices and labels as the CLI.
Values become the command's arguments (layers become file paths) and ``run_backend`` runs it,
so the toolbox, the modeler, batch mode and ``qgis_process`` all run exactly the command line.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException,
                       QgsProcessingFeedback, QgsProcessingLayerPostProcessorInterface, QgsProcessingOutputFile,
                       QgsProcessingOutputNumber, QgsProcessingOutputRasterLayer, QgsProcessingParameterDefinition,
                       QgsProcessingParameterEnum, QgsProcessingParameterExtent, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingUtils)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP
from qgis.PyQt.QtGui import QIcon

from ..spec.commands import ExportOptions, FinetuneOptions, PredictOptions, PretrainOptions
from ..spec.fields import option_named
from ..spec.results import ExportResult, TrainingResult
from .layer_parameters import (add_aoi_parameter, add_imagery_parameters, add_vectorize_parameters, aoi_arguments,
                               imagery_path, is_file_layer, layer_path, vectorize_arguments)
from .parameters import INTEGER, check, parameter
from .runner import run_backend, tr

ICON = Path(__file__).resolve().parents[1] / "icon.png"


class BackendAlgorithm(QgsProcessingAlgorithm):
    """Runs the ``noisyseg`` sub-command ``command``, whose options are ``spec``. Subclasses add
    their parameters in ``initAlgorithm`` with ``add_option`` (from the spec); ``names`` gives a
    parameter its historic name where it is not the flag in capitals; the options in ``handled``
    need more than a flag (layers, extents, two widgets for one option) and are turned into
    arguments by ``extra_arguments``."""

    command = ""
    title = ""
    help_text = ""
    spec = None
    names: dict = {}
    handled: tuple = ()

    def name(self) -> str:
        return self.command

    def displayName(self) -> str:  # noqa: N802 (QGIS's names)
        return tr(self.title)

    def shortHelpString(self) -> str:  # noqa: N802
        return tr(self.help_text)

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def createInstance(self) -> "BackendAlgorithm":  # noqa: N802
        return type(self)()

    # -- parameters from the spec

    def spec_parameters(self) -> dict:
        """Parameter name -> the spec's Option, for every parameter made by ``add_option``."""
        return self.__dict__.setdefault("_spec_parameters", {})

    def add_option(self, dest: str, description=None, optional=None, parent=None, advanced=None) -> None:
        option = option_named(self.spec, dest)
        if advanced is not None:
            option = dataclasses.replace(option, advanced=advanced)
        name = self.names.get(dest, option.parameter)
        self.spec_parameters()[name] = option
        self.addParameter(parameter(option, name, description, optional, parent))

    def covered_options(self) -> set:
        """The spec's options this algorithm offers (the parity test reads it)."""
        return {option.dest for option in self.spec_parameters().values()} | set(self.handled)

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """QGIS's checks, then the spec's bounds Processing cannot express (a multiple of 32, an
        exclusive bound), in the backend's words, before anything starts."""
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        for name, option in self.spec_parameters().items():
            value = parameters.get(name)
            if option.type not in (int, float) or option.dest in self.handled or value in (None, ""):
                continue
            try:
                number = option.type(value)
            except (TypeError, ValueError):
                continue  # an expression or a property: checked by the backend
            problem = check(option, number)
            if problem:
                return False, problem
        return True, ""

    # -- running

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        feedback = feedback or QgsProcessingFeedback()
        arguments = self.extra_arguments(parameters, context, feedback) + self.option_arguments(parameters, context)
        outputs = run_backend([self.command, *arguments], feedback)
        return self.results(outputs, parameters, context)

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        return []

    def results(self, outputs: dict, parameters, context) -> dict:
        raise NotImplementedError

    def option_arguments(self, parameters, context) -> list[str]:
        """``--flag VALUE`` for every spec parameter that has a value; booleans are bare flags."""
        arguments = []
        for name, option in self.spec_parameters().items():
            if option.dest in self.handled:
                continue
            definition = self.parameterDefinition(name)
            if definition.type() == "boolean":
                arguments += [option.flag] if self.parameterAsBoolean(parameters, name, context) else []
                continue
            value = parameters.get(name)
            if value is None or value == "":
                value = definition.defaultValue()
            if value is None or value == "":
                continue
            arguments += [option.flag, self._parameter_text(definition, parameters, context)]
        return arguments

    def _parameter_text(self, definition: QgsProcessingParameterDefinition, parameters, context) -> str:
        name, kind = definition.name(), definition.type()
        if kind == "enum":
            return self.parameterAsEnumString(parameters, name, context)
        if kind == "number":
            if definition.dataType() == INTEGER:
                return str(self.parameterAsInt(parameters, name, context))
            return repr(self.parameterAsDouble(parameters, name, context))
        if kind == "field":
            return self.parameterAsFields(parameters, name, context)[0]
        if kind == "folderDestination":
            return self.output_folder(parameters, context, name)
        if kind in ("rasterDestination", "vectorDestination"):
            return self.parameterAsOutputLayer(parameters, name, context)
        if kind == "fileDestination":
            return self.parameterAsFileOutput(parameters, name, context)
        if kind == "file":
            return self.parameterAsFile(parameters, name, context)
        return self.parameterAsString(parameters, name, context)

    def output_folder(self, parameters, context, name: str = "OUTPUT") -> str:
        """The folder destination; an existing empty folder (what a folder dialog picks) is
        removed, since the backend creates the folder itself and refuses an existing one."""
        folder = Path(self.parameterAsFileOutput(parameters, name, context))
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        return str(folder)

    def add_number(self, name: str, description: str, kind=INTEGER, default=None, minimum=None, maximum=None,
                   optional: bool = False, advanced: bool = False) -> None:
        """A number that is no command option (Processing's own, such as the render resolution)."""
        parameter = QgsProcessingParameterNumber(name, description, kind, default, optional)
        if minimum is not None:
            parameter.setMinimum(minimum)
        if maximum is not None:
            parameter.setMaximum(maximum)
        self.add(parameter, advanced)

    def add(self, parameter: QgsProcessingParameterDefinition, advanced: bool = False) -> None:
        if advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(parameter)


class ExportAlgorithm(BackendAlgorithm):
    command = "export"
    spec = ExportOptions
    names = {"image": "INPUT", "out": "OUTPUT"}
    handled = ("image", "labels")
    title = QT_TRANSLATE_NOOP("NoisySeg", "Export noisy dataset")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Burns the classes of one or more label layers (vector maps or classified rasters, later over earlier) "
        "onto the grid of the image and cuts both into image/mask tile pairs: the noisy labels for pretraining.\n"
        "Class field: without it every feature is one class; with it each distinct value is a class, unless a "
        "classes.json maps values to classes. Unlabelled pixels become background (for complete maps such as "
        "buildings) or ignore (for incomplete maps). Tiles are split into train/val/test by spatial blocks.\n"
        "The output folder holds manifest.json, classes.json and georeferenced tiles under images/ and masks/.")

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add_option("image")
        self.add_option("labels")
        self.add_option("field", parent="LABELS")
        for dest in ("classes", "unlabeled", "all_touched", "encoding", "tile", "stride", "min_valid", "split",
                     "seed", "nodata", "out", "overwrite", "force"):
            self.add_option(dest)
        self.addOutput(QgsProcessingOutputNumber("TILES", tr("Tiles written")))
        self.addOutput(QgsProcessingOutputFile("MANIFEST", tr("Manifest")))

        self.add(QgsProcessingParameterExtent("EXTENT", tr("Extent to render a web or memory layer over"), optional=True))
        add_imagery_parameters(self)

    def extra_arguments(self, parameters, context, feedback) -> list[str]:

        image = self.parameterAsRasterLayer(parameters, "INPUT", context)
        arguments = ["--image", imagery_path(self, parameters, context, feedback, image)]
        for layer in self.parameterAsLayerList(parameters, "LABELS", context):
            arguments += ["--labels", layer_path(layer, feedback)]
        return arguments

    def results(self, outputs: dict, parameters, context) -> dict:
        result = ExportResult.from_outputs(outputs)
        return {"OUTPUT": result.dataset, "TILES": result.tiles, "MANIFEST": result.manifest}


class TrainingAlgorithm(BackendAlgorithm):
    """What pretrain and finetune share: data, run folder, the training options and the encoder
    weights (a choice of none/imagenet and a file widget for one ``--encoder-weights``)."""

    names = {"out": "OUTPUT"}
    handled = ("encoder_weights",)
    TRAINING = ("epochs", "batch_size", "lr", "device", "seed", "weight_decay", "schedule", "warmup", "tile_size",
                "label_smoothing", "loss", "class_weights", "patience", "normalization", "photometric")

    def add_training_parameters(self) -> None:
        for dest in self.TRAINING:
            self.add_option(dest)

    def add_encoder_weights_parameters(self) -> None:
        self.add(QgsProcessingParameterEnum("ENCODER_WEIGHTS", tr("Start the encoder from (ImageNet: torchvision's "
                                                                  "weights, downloaded once; base width 64)"),
                                            ["none", "imagenet"], False, "none", False, True), advanced=True)
        self.add(QgsProcessingParameterFile("ENCODER_WEIGHTS_FILE", tr("…or from this weights file (a torchvision or "
                                                                        "timm ResNet state dict, .pth)"),
                                            optional=True, fileFilter=tr("PyTorch weights (*.pth *.pt)")), advanced=True)
        self.add_option("rgb_bands")

    def encoder_weights_arguments(self, parameters, context) -> list[str]:
        choice = self.parameterAsEnumString(parameters, "ENCODER_WEIGHTS", context)
        path = self.parameterAsFile(parameters, "ENCODER_WEIGHTS_FILE", context)
        if path and choice != "none":
            raise QgsProcessingException(tr("Start the encoder from ImageNet or from a weights file, not both"))
        if path:
            return ["--encoder-weights", path]
        return ["--encoder-weights", choice] if choice != "none" else []

    def add_run_folder_parameters(self) -> None:
        for dest in ("out", "overwrite", "resume"):
            self.add_option(dest)
        self.addOutput(QgsProcessingOutputFile("MODEL", tr("Model checkpoint")))
        self.addOutput(QgsProcessingOutputNumber("VAL_MIOU", tr("Validation mIoU of the last epoch")))

    def output_folder(self, parameters, context, name: str = "OUTPUT") -> str:
        if self.parameterAsBoolean(parameters, "RESUME", context):  # the run folder must stay
            return self.parameterAsFileOutput(parameters, name, context)
        return super().output_folder(parameters, context, name)

    def results(self, outputs: dict, parameters, context) -> dict:
        result = TrainingResult.from_outputs(outputs)
        return {"OUTPUT": result.run_folder, "MODEL": result.model, "VAL_MIOU": result.final_val_miou}


class PretrainAlgorithm(TrainingAlgorithm):
    command = "pretrain"
    spec = PretrainOptions
    title = QT_TRANSLATE_NOOP("NoisySeg", "Pretrain on noisy labels")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Trains an encoder-decoder on a dataset from “Export noisy dataset”.\n"
        "noisy: cross-entropy on the noisy masks (Liu et al., 2024: the encoder learns well even from wrong "
        "labels). simclr: contrastive learning on the images alone (Chen et al., 2020). simclr+noisy: SimCLR, "
        "then noisy training from that encoder.\n"
        "Training runs in the backend's Python (on the GPU when there is one). Cancel stops at the next batch "
        "and keeps last.pt, from which “Resume” continues. The run folder holds model.pt (the best epoch), "
        "last.pt, history.json and curves.png.")

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        for dest in ("data", "method", "encoder", "decoder"):
            self.add_option(dest)
        self.add_training_parameters()
        for dest in ("base_width", "simclr_epochs", "temperature"):
            self.add_option(dest)
        self.add_encoder_weights_parameters()
        self.add_run_folder_parameters()

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        return self.encoder_weights_arguments(parameters, context)


class FinetuneAlgorithm(TrainingAlgorithm):
    command = "finetune"
    spec = FinetuneOptions
    handled = ("encoder_weights", "init", "encoder", "base_width")
    title = QT_TRANSLATE_NOOP("NoisySeg", "Fine-tune on clean labels")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Fine-tunes a pretrained model.pt on a few clean tiles (a dataset exported from corrected labels). "
        "Without a pretrained model it trains from scratch, the baseline.\n"
        "The class set may differ from pretraining: the head (and the decoder, unless transferred) starts "
        "fresh. Transfer auto copies the whole model when the classes and decoder are unchanged, else the "
        "encoder. Freeze takes none, encoder, or blocks such as stem,layer1,layer2. Maximum tiles draws that "
        "many train tiles with the seed.")

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add_option("data")
        self.add_option("init", optional=True)
        for dest in ("transfer", "encoder_lr_scale", "freeze", "decoder", "max_tiles", "tiles_with"):
            self.add_option(dest)
        self.add_training_parameters()
        self.add_option("encoder")
        self.add_option("base_width")
        self.add_encoder_weights_parameters()
        self.add_run_folder_parameters()

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        init = self.parameterAsFile(parameters, "INIT", context)
        if init:
            return ["--init", init, *self.encoder_weights_arguments(parameters, context)]
        return ["--init", "none", "--encoder", self.parameterAsEnumString(parameters, "ENCODER", context),
                "--base-width", str(self.parameterAsInt(parameters, "BASE_WIDTH", context)),
                *self.encoder_weights_arguments(parameters, context)]


class PredictAlgorithm(BackendAlgorithm):
    command = "predict"
    spec = PredictOptions
    names = {"image": "INPUT", "out": "OUTPUT", "batch_size": "BATCH"}
    handled = ("image", "extent", "disagreement_with", "overwrite", "aoi", "vectorize")  # vector_algorithms adds them
    title = QT_TRANSLATE_NOOP("NoisySeg", "Predict with an ONNX model")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Predicts the classes of a raster (or of an extent of it) with a model.onnx from the backend's "
        "export-onnx. The model carries its classes, bands and normalisation. Tiles overlap and are blended "
        "smoothly, so there are no seams; memory stays small whatever the raster's size.\n"
        "The class raster opens with the model's class names and colours; the optional confidence raster is "
        "the largest class probability in percent. With an existing map, a disagreement raster is also "
        "written beside the output (OUTPUT_disagreement.tif): where the model and the map differ.\n"
        "Existing output files are replaced. Needs no torch: onnxruntime only.")

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        for dest in ("model", "image", "extent", "tile", "overlap", "batch_size", "device", "threads", "resample",
                     "nodata", "disagreement_with", "disagreement_field", "disagreement_encoding", "confidence", "confidence_dtype",
                     "probabilities", "disagreement_out", "out", "force"):
            self.add_option(dest)
        self.addOutput(QgsProcessingOutputRasterLayer("DISAGREEMENT", tr("Disagreement")))

        add_imagery_parameters(self), add_aoi_parameter(self), add_vectorize_parameters(self)

    def extra_arguments(self, parameters, context, feedback) -> list[str]:

        image = self.parameterAsRasterLayer(parameters, "INPUT", context)
        arguments = ["--image", imagery_path(self, parameters, context, feedback, image), "--overwrite"]
        arguments += aoi_arguments(self, parameters, context, feedback) + vectorize_arguments(self, parameters, context)
        if parameters.get("EXTENT") and is_file_layer(image):  # a rendered layer covers the extent already
            extent = self.parameterAsExtent(parameters, "EXTENT", context, image.crs())
            arguments += ["--extent", *(repr(value) for value in (extent.xMinimum(), extent.yMinimum(),
                                                                  extent.xMaximum(), extent.yMaximum()))]
        existing_map = self.parameterAsLayer(parameters, "DISAGREEMENT_WITH", context)
        if existing_map is not None:
            arguments += ["--disagreement-with", layer_path(existing_map, feedback)]
        return arguments

    def results(self, outputs: dict, parameters, context) -> dict:
        results = {"OUTPUT": outputs["classes"], "CONFIDENCE": outputs.get("confidence"),
                   "PROBABILITIES": outputs.get("probabilities"), "DISAGREEMENT": outputs.get("disagreement"),
                   "VECTOR": outputs.get("vector")}
        if results["DISAGREEMENT"] and context.willLoadLayerOnCompletion(results["OUTPUT"]):
            details = QgsProcessingContext.LayerDetails(tr("Disagreement"), context.project(), "DISAGREEMENT",
                                                        QgsProcessingUtils.LayerHint.Raster)
            context.addLayerToLoadOnCompletion(results["DISAGREEMENT"], details)
        for key, path in results.items():
            if path and key != "VECTOR" and context.willLoadLayerOnCompletion(path):
                context.layerToLoadOnCompletionDetails(path).setPostProcessor(DefaultStyleLoader.create())
        return results


class KeptPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """A layer post-processor that outlives the algorithm: the context holds only a C++ pointer,
    so ``create`` keeps each one alive here (a few bytes per loaded output)."""

    _alive: list = []

    @classmethod
    def create(cls):
        processor = cls()
        KeptPostProcessor._alive.append(processor)
        return processor


class DefaultStyleLoader(KeptPostProcessor):
    """Gives a loaded output its ``.qml`` (class names and colours, the confidence ramp):
    Processing loads result layers without their default style."""

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802 (QGIS's name)
        message, loaded = layer.loadDefaultStyle()
        if not loaded:
            feedback.pushWarning(tr("No style for {}: {}").format(layer.source(), message))
        layer.triggerRepaint()


ALGORITHMS = (ExportAlgorithm, PretrainAlgorithm, FinetuneAlgorithm, PredictAlgorithm)
