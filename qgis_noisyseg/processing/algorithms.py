"""The Processing algorithms: one per ``noisyseg`` command, with the command's parameters.

Each algorithm turns its parameter values into the command's arguments (``options`` maps a
parameter to its flag; layers become file paths) and runs it with ``run_backend``, so the
toolbox, the modeler, batch mode and ``qgis_process`` all run exactly the command line.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsMapLayer, QgsProcessing, QgsProcessingAlgorithm, QgsProcessingContext,
                       QgsProcessingException, QgsProcessingFeedback, QgsProcessingLayerPostProcessorInterface,
                       QgsProcessingOutputFile, QgsProcessingOutputNumber, QgsProcessingOutputRasterLayer,
                       QgsProcessingParameterBoolean, QgsProcessingParameterDefinition, QgsProcessingParameterEnum,
                       QgsProcessingParameterExtent, QgsProcessingParameterField, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterMapLayer,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString, QgsProcessingUtils)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP
from qgis.PyQt.QtGui import QIcon

from ..backend.architectures import DECODER_NAMES, DEFAULT_BASE_WIDTH, ENCODER_NAMES
from ..commands.finetune import AUTO, TRANSFERS
from ..commands.pretrain import METHODS
from ..gui.layers import NotAFileLayer, backend_path
from .runner import run_backend, tr

ICON = Path(__file__).resolve().parents[1] / "icon.png"
INTEGER = QgsProcessingParameterNumber.Type.Integer
DOUBLE = QgsProcessingParameterNumber.Type.Double


class BackendAlgorithm(QgsProcessingAlgorithm):
    """Runs the ``noisyseg`` sub-command ``command``. Subclasses declare their parameters in
    ``initAlgorithm``, map them to flags in ``options`` and add what needs more than a flag
    (layers, extents) in ``extra_arguments``."""

    command = ""
    title = ""
    help_text = ""
    options: dict = {}

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
        """``--flag VALUE`` for every parameter in ``options`` that has a value; booleans are
        bare flags."""
        arguments = []
        for name, flag in self.options.items():
            definition = self.parameterDefinition(name)
            if definition.type() == "boolean":
                arguments += [flag] if self.parameterAsBoolean(parameters, name, context) else []
                continue
            value = parameters.get(name)
            if value is None or value == "":
                value = definition.defaultValue()
            if value is None or value == "":
                continue
            arguments += [flag, self._parameter_text(definition, parameters, context)]
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
        if kind == "rasterDestination":
            return self.parameterAsOutputLayer(parameters, name, context)
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

    def add(self, parameter: QgsProcessingParameterDefinition, advanced: bool = False) -> None:
        if advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(parameter)

    def add_number(self, name: str, description: str, kind=INTEGER, default=None, minimum=None, maximum=None,
                   optional: bool = False, advanced: bool = False) -> None:
        parameter = QgsProcessingParameterNumber(name, description, kind, default, optional)
        if minimum is not None:
            parameter.setMinimum(minimum)
        if maximum is not None:
            parameter.setMaximum(maximum)
        self.add(parameter, advanced)

    def add_choice(self, name: str, description: str, choices, default=None, optional: bool = False,
                   advanced: bool = False) -> None:
        """An enum whose values are the command's own words (``--method simclr``)."""
        self.add(QgsProcessingParameterEnum(name, description, list(choices), False, default, optional, True), advanced)


def layer_path(layer: QgsMapLayer, feedback) -> str:
    """The file the backend reads for ``layer`` (see gui.layers.backend_path)."""
    try:
        path, filtered = backend_path(layer)
    except NotAFileLayer as exc:
        raise QgsProcessingException(str(exc)) from exc
    if filtered:
        feedback.pushWarning(tr("The filter of layer “{}” is ignored: the backend reads the whole file")
                             .format(layer.name()))
    return path


class ExportAlgorithm(BackendAlgorithm):
    command = "export"
    title = QT_TRANSLATE_NOOP("NoisySeg", "Export noisy dataset")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Burns the classes of one or more label layers (vector maps or classified rasters, later over earlier) "
        "onto the grid of the image and cuts both into image/mask tile pairs: the noisy labels for pretraining.\n"
        "Class field: without it every feature is one class; with it each distinct value is a class, unless a "
        "classes.json maps values to classes. Unlabelled pixels become background (for complete maps such as "
        "buildings) or ignore (for incomplete maps). Tiles are split into train/val/test by spatial blocks.\n"
        "The output folder holds manifest.json, classes.json and georeferenced tiles under images/ and masks/.")
    options = {"FIELD": "--field", "CLASSES": "--classes", "UNLABELED": "--unlabeled", "ALL_TOUCHED": "--all-touched",
               "ENCODING": "--encoding", "TILE": "--tile", "STRIDE": "--stride", "MIN_VALID": "--min-valid",
               "SPLIT": "--split", "SEED": "--seed", "OUTPUT": "--out", "OVERWRITE": "--overwrite"}

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add(QgsProcessingParameterRasterLayer("INPUT", tr("Image")))
        self.add(QgsProcessingParameterMultipleLayers("LABELS", tr("Label layers (vector or classified raster)"),
                                                      QgsProcessing.SourceType.TypeMapLayer))
        self.add(QgsProcessingParameterField("FIELD", tr("Class field"), None, "LABELS", optional=True))
        self.add(QgsProcessingParameterFile("CLASSES", tr("Class map (classes.json)"), extension="json", optional=True))
        self.add_choice("UNLABELED", tr("Unlabelled pixels become"), ("background", "ignore"), "ignore")
        self.add(QgsProcessingParameterBoolean("ALL_TOUCHED", tr("Burn every pixel a feature touches"), False))
        self.add(QgsProcessingParameterString("ENCODING", tr("Attribute encoding of the vector files"), optional=True),
                 advanced=True)
        self.add_number("TILE", tr("Tile size (pixels)"), default=256, minimum=8)
        self.add_number("STRIDE", tr("Stride between tiles (pixels; default: the tile size)"), optional=True, minimum=1)
        self.add_number("MIN_VALID", tr("Minimum valid fraction of a tile"), DOUBLE, 0.5, 0.0, 1.0)
        self.add(QgsProcessingParameterString("SPLIT", tr("Train, validation and test fractions"), "0.8,0.1,0.1"))
        self.add_number("SEED", tr("Seed of the split"), default=0)
        self.add(QgsProcessingParameterFolderDestination("OUTPUT", tr("Dataset folder")))
        self.add(QgsProcessingParameterBoolean("OVERWRITE", tr("Replace the dataset folder if it exists"), False))
        self.addOutput(QgsProcessingOutputNumber("TILES", tr("Tiles written")))
        self.addOutput(QgsProcessingOutputFile("MANIFEST", tr("Manifest")))
        from .vector_algorithms import add_imagery_parameters

        self.add(QgsProcessingParameterExtent("EXTENT", tr("Extent to render a web or memory layer over"), optional=True))
        add_imagery_parameters(self)

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        from .vector_algorithms import imagery_path

        image = self.parameterAsRasterLayer(parameters, "INPUT", context)
        arguments = ["--image", imagery_path(self, parameters, context, feedback, image)]
        for layer in self.parameterAsLayerList(parameters, "LABELS", context):
            arguments += ["--labels", layer_path(layer, feedback)]
        return arguments

    def results(self, outputs: dict, parameters, context) -> dict:
        return {"OUTPUT": outputs["dataset"], "TILES": outputs["tiles"],
                "MANIFEST": str(Path(outputs["dataset"]) / "manifest.json")}


class TrainingAlgorithm(BackendAlgorithm):
    """What pretrain and finetune share: data, run folder and the training options."""

    default_epochs = 20
    options = {"DATA": "--data", "OUTPUT": "--out", "EPOCHS": "--epochs", "BATCH_SIZE": "--batch-size", "LR": "--lr",
               "WEIGHT_DECAY": "--weight-decay", "SCHEDULE": "--schedule", "TILE_SIZE": "--tile-size",
               "DEVICE": "--device", "SEED": "--seed", "LABEL_SMOOTHING": "--label-smoothing",
               "CLASS_WEIGHTS": "--class-weights", "PATIENCE": "--patience", "RESUME": "--resume",
               "OVERWRITE": "--overwrite"}

    def add_dataset_parameter(self) -> None:
        self.add(QgsProcessingParameterFile("DATA", tr("Dataset folder"), QgsProcessingParameterFile.Behavior.Folder))

    def add_training_parameters(self) -> None:
        self.add_number("EPOCHS", tr("Epochs"), default=self.default_epochs, minimum=0)
        self.add_number("BATCH_SIZE", tr("Batch size (tiles)"), default=8, minimum=1)
        self.add_number("LR", tr("Learning rate"), DOUBLE, 1e-3, minimum=0.0)
        self.add_choice("DEVICE", tr("Device"), ("auto", "cpu", "cuda", "mps"), "auto")
        self.add_number("SEED", tr("Seed"), default=0)
        self.add_number("WEIGHT_DECAY", tr("Weight decay"), DOUBLE, 1e-4, minimum=0.0, advanced=True)
        self.add_choice("SCHEDULE", tr("Learning-rate schedule"), ("cosine", "onecycle"), "cosine", advanced=True)
        self.add_number("TILE_SIZE", tr("Train on random crops of this size (a multiple of 32)"), optional=True,
                        minimum=32, advanced=True)
        self.add_number("LABEL_SMOOTHING", tr("Label smoothing"), DOUBLE, 0.0, 0.0, 0.99, advanced=True)
        self.add(QgsProcessingParameterBoolean("CLASS_WEIGHTS", tr("Weight the loss by inverse class frequency"),
                                               False), advanced=True)
        self.add_number("PATIENCE", tr("Stop after this many epochs without improvement"), optional=True, minimum=1,
                        advanced=True)

    def add_run_folder_parameters(self) -> None:
        self.add(QgsProcessingParameterFolderDestination("OUTPUT", tr("Run folder")))
        self.add(QgsProcessingParameterBoolean("OVERWRITE", tr("Replace the run folder if it exists"), False))
        self.add(QgsProcessingParameterBoolean("RESUME", tr("Resume the run in the run folder"), False))
        self.addOutput(QgsProcessingOutputFile("MODEL", tr("Model checkpoint")))
        self.addOutput(QgsProcessingOutputNumber("VAL_MIOU", tr("Validation mIoU of the last epoch")))

    def output_folder(self, parameters, context, name: str = "OUTPUT") -> str:
        if self.parameterAsBoolean(parameters, "RESUME", context):  # the run folder must stay
            return self.parameterAsFileOutput(parameters, name, context)
        return super().output_folder(parameters, context, name)

    def results(self, outputs: dict, parameters, context) -> dict:
        return {"OUTPUT": str(Path(outputs["model"]).parent), "MODEL": outputs["model"],
                "VAL_MIOU": outputs.get("final_val_miou")}


class PretrainAlgorithm(TrainingAlgorithm):
    command = "pretrain"
    title = QT_TRANSLATE_NOOP("NoisySeg", "Pretrain on noisy labels")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Trains an encoder-decoder on a dataset from “Export noisy dataset”.\n"
        "noisy: cross-entropy on the noisy masks (Liu et al., 2024: the encoder learns well even from wrong "
        "labels). simclr: contrastive learning on the images alone (Chen et al., 2020). simclr+noisy: SimCLR, "
        "then noisy training from that encoder.\n"
        "Training runs in the backend's Python (on the GPU when there is one). Cancel stops at the next batch "
        "and keeps last.pt, from which “Resume” continues. The run folder holds model.pt (the best epoch), "
        "last.pt, history.json and curves.png.")
    options = {**TrainingAlgorithm.options, "METHOD": "--method", "ENCODER": "--encoder", "DECODER": "--decoder",
               "BASE_WIDTH": "--base-width", "SIMCLR_EPOCHS": "--simclr-epochs", "TEMPERATURE": "--temperature"}

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add_dataset_parameter()
        self.add_choice("METHOD", tr("Method"), METHODS, "noisy")
        self.add_choice("ENCODER", tr("Encoder"), ENCODER_NAMES, "resnet18")
        self.add_choice("DECODER", tr("Decoder"), DECODER_NAMES, "unet")
        self.add_training_parameters()
        self.add_number("BASE_WIDTH", tr("Encoder width"), default=DEFAULT_BASE_WIDTH, minimum=8, advanced=True)
        self.add_number("SIMCLR_EPOCHS", tr("SimCLR epochs (default: Epochs)"), optional=True, minimum=0, advanced=True)
        self.add_number("TEMPERATURE", tr("SimCLR temperature (default 0.2)"), DOUBLE, optional=True, minimum=0.001,
                        advanced=True)
        self.add_choice("ENCODER_WEIGHTS", tr("Start the encoder from (ImageNet: torchvision's weights, downloaded once; "
                                              "base width 64)"), ("none", "imagenet"), "none", advanced=True)
        self.add(QgsProcessingParameterFile("ENCODER_WEIGHTS_FILE", tr("…or from this weights file (a torchvision or "
                                                                        "timm ResNet state dict, .pth)"),
                                            optional=True, fileFilter=tr("PyTorch weights (*.pth *.pt)")), advanced=True)
        self.add_run_folder_parameters()

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        choice = self.parameterAsEnumString(parameters, "ENCODER_WEIGHTS", context)
        path = self.parameterAsFile(parameters, "ENCODER_WEIGHTS_FILE", context)
        if path and choice != "none":
            raise QgsProcessingException(tr("Start the encoder from ImageNet or from a weights file, not both"))
        if path:
            return ["--encoder-weights", path]
        return ["--encoder-weights", choice] if choice != "none" else []


class FinetuneAlgorithm(TrainingAlgorithm):
    command = "finetune"
    title = QT_TRANSLATE_NOOP("NoisySeg", "Fine-tune on clean labels")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Fine-tunes a pretrained model.pt on a few clean tiles (a dataset exported from corrected labels). "
        "Without a pretrained model it trains from scratch, the baseline.\n"
        "The class set may differ from pretraining: the head (and the decoder, unless transferred) starts "
        "fresh. Transfer auto copies the whole model when the classes and decoder are unchanged, else the "
        "encoder. Freeze takes none, encoder, or blocks such as stem,layer1,layer2. Maximum tiles draws that "
        "many train tiles with the seed.")
    default_epochs = 30
    options = {**TrainingAlgorithm.options, "TRANSFER": "--transfer", "FREEZE": "--freeze", "DECODER": "--decoder",
               "MAX_TILES": "--max-tiles"}

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add_dataset_parameter()
        self.add(QgsProcessingParameterFile("INIT", tr("Pretrained model (model.pt; empty: train from scratch)"),
                                            extension="pt", optional=True))
        self.add_choice("TRANSFER", tr("Parts copied from the pretrained model"), (AUTO, *TRANSFERS), AUTO)
        self.add(QgsProcessingParameterString("FREEZE", tr("Frozen parts"), "none"))
        self.add_choice("DECODER", tr("Decoder (default: the pretrained model's)"), DECODER_NAMES, optional=True)
        self.add_number("MAX_TILES", tr("Maximum train tiles (default: all)"), optional=True, minimum=1)
        self.add_training_parameters()
        self.add_choice("ENCODER", tr("Encoder, when training from scratch"), ENCODER_NAMES, "resnet18", advanced=True)
        self.add_number("BASE_WIDTH", tr("Encoder width, when training from scratch"), default=DEFAULT_BASE_WIDTH,
                        minimum=8, advanced=True)
        self.add_run_folder_parameters()

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        init = self.parameterAsFile(parameters, "INIT", context)
        if init:
            return ["--init", init]
        return ["--init", "none", "--encoder", self.parameterAsEnumString(parameters, "ENCODER", context),
                "--base-width", str(self.parameterAsInt(parameters, "BASE_WIDTH", context))]


class PredictAlgorithm(BackendAlgorithm):
    command = "predict"
    title = QT_TRANSLATE_NOOP("NoisySeg", "Predict with an ONNX model")
    help_text = QT_TRANSLATE_NOOP("NoisySeg",
        "Predicts the classes of a raster (or of an extent of it) with a model.onnx from the backend's "
        "export-onnx. The model carries its classes, bands and normalisation. Tiles overlap and are blended "
        "smoothly, so there are no seams; memory stays small whatever the raster's size.\n"
        "The class raster opens with the model's class names and colours; the optional confidence raster is "
        "the largest class probability in percent. With an existing map, a disagreement raster is also "
        "written beside the output (OUTPUT_disagreement.tif): where the model and the map differ.\n"
        "Existing output files are replaced. Needs no torch: onnxruntime only.")
    options = {"MODEL": "--model", "TILE": "--tile", "OVERLAP": "--overlap", "BATCH": "--batch-size",
               "DEVICE": "--device", "THREADS": "--threads", "RESAMPLE": "--resample",
               "DISAGREEMENT_FIELD": "--disagreement-field", "OUTPUT": "--out", "CONFIDENCE": "--confidence"}

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add(QgsProcessingParameterFile("MODEL", tr("Model (model.onnx)"), extension="onnx"))
        self.add(QgsProcessingParameterRasterLayer("INPUT", tr("Image")))
        self.add(QgsProcessingParameterExtent("EXTENT", tr("Extent (default: the whole image)"), optional=True))
        self.add_number("TILE", tr("Tile size, a multiple of 32 (default: the model's)"), optional=True, minimum=32)
        self.add_number("OVERLAP", tr("Overlap between tiles (default: the model's)"), optional=True, minimum=0)
        self.add_number("BATCH", tr("Batch size (tiles)"), default=4, minimum=1, optional=True)
        self.add_choice("DEVICE", tr("Device"), ("auto", "cpu", "cuda"), "auto", advanced=True)
        self.add_number("THREADS", tr("CPU threads (default: all cores)"), optional=True, minimum=1, advanced=True)
        self.add(QgsProcessingParameterBoolean("RESAMPLE", tr("Read the image at the model's resolution"), False),
                 advanced=True)
        self.add(QgsProcessingParameterMapLayer("DISAGREEMENT_WITH", tr("Existing map to compare with"), optional=True))
        self.add(QgsProcessingParameterString("DISAGREEMENT_FIELD", tr("Class field of the existing map (default: "
                                                                       "the one the model was trained from)"),
                                              optional=True), advanced=True)
        self.add(QgsProcessingParameterRasterDestination("CONFIDENCE", tr("Confidence"), optional=True,
                                                         createByDefault=False))
        self.add(QgsProcessingParameterRasterDestination("OUTPUT", tr("Classes")))
        self.addOutput(QgsProcessingOutputRasterLayer("DISAGREEMENT", tr("Disagreement")))
        from .vector_algorithms import add_aoi_parameter, add_imagery_parameters, add_vectorize_parameters

        add_imagery_parameters(self), add_aoi_parameter(self), add_vectorize_parameters(self)

    def extra_arguments(self, parameters, context, feedback) -> list[str]:
        from .vector_algorithms import aoi_arguments, imagery_path, is_file_layer, vectorize_arguments

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
                   "DISAGREEMENT": outputs.get("disagreement"), "VECTOR": outputs.get("vector")}
        if results["DISAGREEMENT"] and context.willLoadLayerOnCompletion(results["OUTPUT"]):
            details = QgsProcessingContext.LayerDetails(tr("Disagreement"), context.project(), "DISAGREEMENT",
                                                        QgsProcessingUtils.LayerHint.Raster)
            context.addLayerToLoadOnCompletion(results["DISAGREEMENT"], details)
        for key, path in results.items():
            if path and key != "VECTOR" and context.willLoadLayerOnCompletion(path):
                context.layerToLoadOnCompletionDetails(path).setPostProcessor(DefaultStyleLoader.create())
        return results


class DefaultStyleLoader(QgsProcessingLayerPostProcessorInterface):
    """Gives a loaded output its ``.qml`` (class names and colours, the confidence ramp):
    Processing loads result layers without their default style. The context holds only a C++
    pointer, so ``create`` keeps each loader alive here (a few bytes per loaded output)."""

    _alive: list = []

    @classmethod
    def create(cls) -> "DefaultStyleLoader":
        loader = cls()
        cls._alive.append(loader)
        return loader

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802 (QGIS's name)
        message, loaded = layer.loadDefaultStyle()
        if not loaded:
            feedback.pushWarning(tr("No style for {}: {}").format(layer.source(), message))
        layer.triggerRepaint()


ALGORITHMS = (ExportAlgorithm, PretrainAlgorithm, FinetuneAlgorithm, PredictAlgorithm)
