"""Every command's options, one dataclass per command, with the shared groups declared once.

A field is an :func:`~.fields.option`: flag, help, short label (for Processing and the panel),
type, choices, bounds, default, and whether it is advanced or CLI-only. ``noisyseg --help``,
the Processing algorithms and the panel are built from these classes; to add an option, add a
field here (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import choices as C
from .fields import QT_TRANSLATE_NOOP
from .fields import SpecError, option, to_argv

# Every tile a model sees is halved five times by the encoder: its side must be a multiple of 32.
TILE_MULTIPLE = 32
TILE_WHY = "the encoder halves a tile five times"
NODATA_HELP = ("pixel value that marks nodata in every band, overriding the file's tag; 'none': no nodata "
               "(default: the file's nodata, alpha or mask, else a black or white border is detected)")
BUNDLED_DATA = Path(__file__).resolve().parents[2] / "data"
# Grids larger than these need --force (core.export.MAX_TILES and inference.sliding.MAX_TILES).
EXPORT_MAX_TILES = 50_000
PREDICT_MAX_TILES = 250_000
# Chosen by benchmarks/bench_quality.py (docs/results.md, "Cross-scene quality").
WARMUP = 0.0
FINETUNE_WARMUP = 0.1
PHOTOMETRIC = 0.0
NORMALIZATION = "image"
ENCODER_LR_SCALE = 0.1
LOSS = "ce"
PRETRAIN_LOSS = "ce+dice"


LOSS_HELP = ("ce: cross-entropy; ce+dice adds the Dice loss, which weighs each class's overlap whatever its "
             "share; sce (symmetric cross-entropy), bootstrap (hard bootstrapping) and confident (only the most "
             "plausible pixels of each class) are robust to noisy labels (default {})")
LOSS_LABEL = QT_TRANSLATE_NOOP("NoisySeg", "Loss (sce, bootstrap and confident are robust to noisy labels)")


def _warmup(default: float):
    """``--warmup``: pretrain and finetune differ in its default only (chosen by bench-quality)."""
    return option("--warmup", default, "with --schedule cosine: the fraction of steps over which the learning rate "
                  f"rises linearly before the cosine decay (default {default:g})", type=float, minimum=0.0, below=1.0,
                  label=QT_TRANSLATE_NOOP("NoisySeg", "Warm-up fraction of the steps"), advanced=True)


# Shared groups -----------------------------------------------------------------------------

@dataclass(kw_only=True)
class OverwriteGroup:
    overwrite: bool = option("--overwrite", False, "replace --out if it exists",
                             label=QT_TRANSLATE_NOOP("NoisySeg", "Replace the output if it exists"))


@dataclass(kw_only=True)
class TrainingDeviceGroup:
    device: str = option("--device", "auto", "auto: CUDA, then MPS, then CPU", choices=C.TRAINING_DEVICES,
                         label=QT_TRANSLATE_NOOP("NoisySeg", "Device"))


@dataclass(kw_only=True)
class OnnxDeviceGroup:
    device: str = option("--device", "auto", "onnxruntime's execution provider; auto: CUDA when available",
                         choices=C.ONNX_DEVICES, label=QT_TRANSLATE_NOOP("NoisySeg", "Device"), advanced=True)
    threads: Optional[int] = option("--threads", None, "CPU threads for onnxruntime (default: all cores)", type=int,
                                    minimum=1, label=QT_TRANSLATE_NOOP("NoisySeg", "CPU threads (default: all cores)"), advanced=True)


@dataclass(kw_only=True)
class RunOutputGroup(OverwriteGroup):
    """The run folder of pretrain and finetune."""
    out: Optional[str] = option("--out", None, "run folder to write (model.pt, last.pt, history.json, curves.png)",
                                required=True, kind="folder-out", label=QT_TRANSLATE_NOOP("NoisySeg", "Run folder"))
    resume: bool = option("--resume", False, "continue the run in --out from its last.pt",
                          label=QT_TRANSLATE_NOOP("NoisySeg", "Resume the run in the run folder"))
    overwrite: bool = option("--overwrite", False, "replace --out if it exists",
                             label=QT_TRANSLATE_NOOP("NoisySeg", "Replace the run folder if it exists"))


@dataclass(kw_only=True)
class TrainingGroup(TrainingDeviceGroup, RunOutputGroup):
    """What pretrain and finetune share."""
    data: Optional[str] = option("--data", None, "dataset folder (from noisyseg export)", required=True,
                                 kind="folder", label=QT_TRANSLATE_NOOP("NoisySeg", "Dataset folder"))
    epochs: int = option("--epochs", 20, "epochs of supervised training", type=int, minimum=0,
                         label=QT_TRANSLATE_NOOP("NoisySeg", "Epochs"))
    batch_size: int = option("--batch-size", 8, "tiles per batch", type=int, minimum=1,
                             label=QT_TRANSLATE_NOOP("NoisySeg", "Batch size (tiles)"))
    lr: float = option("--lr", 1e-3, "AdamW learning rate", type=float, above=0.0, label=QT_TRANSLATE_NOOP("NoisySeg", "Learning rate"))
    weight_decay: float = option("--weight-decay", 1e-4, "AdamW weight decay", type=float, minimum=0.0,
                                 label=QT_TRANSLATE_NOOP("NoisySeg", "Weight decay"), advanced=True)
    schedule: str = option("--schedule", "cosine", "learning-rate schedule per step", choices=C.SCHEDULES,
                           label=QT_TRANSLATE_NOOP("NoisySeg", "Learning-rate schedule"), advanced=True)
    warmup: float = _warmup(WARMUP)
    normalization: str = option("--normalization", NORMALIZATION, "image: every image is standardised by its own band "
                                "mean and std (nodata excluded): the training tiles by their dataset's, an image to "
                                "predict by its own, so that another flight or date needs no new model; dataset: every "
                                f"image by the training dataset's (default {NORMALIZATION}; with --init a model, that "
                                "model's scheme)", choices=C.NORMALIZATIONS,
                                label=QT_TRANSLATE_NOOP("NoisySeg", "Normalisation (image: each image by its own statistics)"),
                                advanced=True)
    photometric: float = option("--photometric", PHOTOMETRIC, "strength of the per-band brightness, contrast and gamma "
                                "jitter of the training tiles, so that the model survives another flight or date; 0 "
                                "turns it off", type=float, minimum=0.0, maximum=0.5,
                                label=QT_TRANSLATE_NOOP("NoisySeg", "Photometric jitter of the training tiles (0: off)"), advanced=True)
    tile_size: Optional[int] = option("--tile-size", None, "train on random crops of this size (default: whole tiles)",
                                      type=int, minimum=TILE_MULTIPLE, multiple_of=TILE_MULTIPLE, why=TILE_WHY,
                                      label=QT_TRANSLATE_NOOP("NoisySeg", "Train on random crops of this size (a multiple of 32)"),
                                      advanced=True)
    seed: int = option("--seed", 0, "seed of initialisation, shuffling, augmentation and --max-tiles", type=int,
                       label=QT_TRANSLATE_NOOP("NoisySeg", "Seed"))
    label_smoothing: float = option("--label-smoothing", 0.0, "cross-entropy label smoothing", type=float,
                                    minimum=0.0, below=1.0, label=QT_TRANSLATE_NOOP("NoisySeg", "Label smoothing"), advanced=True)
    loss: str = option("--loss", LOSS, LOSS_HELP.format(LOSS), choices=C.LOSSES, label=LOSS_LABEL, advanced=True)
    class_weights: bool = option("--class-weights", False, "weight the loss by inverse class frequency of the train "
                                 "tiles", label=QT_TRANSLATE_NOOP("NoisySeg", "Weight the loss by inverse class frequency"),
                                 advanced=True)
    patience: Optional[int] = option("--patience", None, "stop after this many epochs without a better validation mIoU",
                                     type=int, minimum=1, advanced=True,
                                     label=QT_TRANSLATE_NOOP("NoisySeg", "Stop after this many epochs without improvement"))


@dataclass(kw_only=True)
class EncoderWeightsGroup:
    encoder_weights: str = option(
        "--encoder-weights", "none",
        "start the encoder from a torchvision or timm ResNet state dict (.pth), or from torchvision's ImageNet "
        "weights (downloaded once into torch's hub cache); they need --base-width 64 (default none: random)",
        metavar="PATH|imagenet|none", label=QT_TRANSLATE_NOOP("NoisySeg", "Encoder weights (a .pth file, imagenet or none)"),
        advanced=True)
    rgb_bands: Optional[str] = option(
        "--rgb-bands", None,
        "with 3-band (RGB) weights: the dataset bands (1-based) holding red, green and blue, e.g. 3,2,1 for blue, "
        "green, red imagery (default: from the band names; unnamed 3-band imagery is taken as red, green, blue)",
        metavar="R,G,B", label=QT_TRANSLATE_NOOP("NoisySeg", "Bands holding red, green and blue (e.g. 3,2,1)"), advanced=True)


def _base_width(help_text: str, label: str):
    return option("--base-width", C.DEFAULT_BASE_WIDTH, help_text, type=int, minimum=8, maximum=128, label=label,
                  advanced=True)


AOI_HELP = "area of interest: a polygon layer in any CRS"
MIN_AREA_HELP = "drop polygons and fill holes smaller than this, in square map units (default: 4 pixels)"
SIMPLIFY_HELP = "simplification tolerance in map units (default: one pixel; 0 keeps the pixel outlines)"
VECTOR_CLI_ONLY = "Processing: run Vectorize on the prediction for other sizes"


# Commands ----------------------------------------------------------------------------------

@dataclass(kw_only=True)
class ExportOptions(OverwriteGroup):
    image: Optional[str] = option("--image", None, "imagery GeoTIFF (any band count; uint8, uint16, int16 or float32)",
                                  required=True, kind="raster", label=QT_TRANSLATE_NOOP("NoisySeg", "Image"))
    labels: Optional[list] = option("--labels", None, "label source: vector file (file.gpkg:layer, .shp, .geojson) or "
                                    "classified raster; repeat to burn several, later over earlier", required=True,
                                    repeat=True, metavar="SRC", kind="layers",
                                    label=QT_TRANSLATE_NOOP("NoisySeg", "Label layers (vector or classified raster)"))
    field: Optional[str] = option("--field", None, "attribute that holds each feature's class (without it every "
                                  "feature is one class)", kind="field", label=QT_TRANSLATE_NOOP("NoisySeg", "Class field"))
    classes: Optional[str] = option("--classes", None, "classes.json mapping source values to class ids, names and "
                                    "colours (default: one class per distinct value)", kind="file", extension="json",
                                    label=QT_TRANSLATE_NOOP("NoisySeg", "Class map (classes.json)"))
    unlabeled: str = option("--unlabeled", "ignore", "what pixels with no label become: background (0) or ignore "
                            "(255); default ignore", choices=C.UNLABELED, label=QT_TRANSLATE_NOOP("NoisySeg", "Unlabelled pixels become"))
    all_touched: bool = option("--all-touched", False, "burn every pixel a feature touches, not only those whose "
                               "centre it covers", label=QT_TRANSLATE_NOOP("NoisySeg", "Burn every pixel a feature touches"))
    encoding: Optional[str] = option("--encoding", None, "attribute encoding of the vector files (default: as "
                                     "declared, UTF-8 detected)", advanced=True,
                                     label=QT_TRANSLATE_NOOP("NoisySeg", "Attribute encoding of the vector files"))
    tile: int = option("--tile", 256, "tile size in pixels", type=int, minimum=TILE_MULTIPLE, multiple_of=TILE_MULTIPLE,
                       why=TILE_WHY, label=QT_TRANSLATE_NOOP("NoisySeg", "Tile size (pixels, a multiple of 32)"))
    stride: Optional[int] = option("--stride", None, "step between tiles in pixels (default: the tile size)", type=int,
                                   minimum=1, label=QT_TRANSLATE_NOOP("NoisySeg", "Stride between tiles (pixels; default: the tile size)"))
    min_valid: float = option("--min-valid", 0.5, "skip tiles with less valid image area than this", type=float,
                              minimum=0.0, maximum=1.0, label=QT_TRANSLATE_NOOP("NoisySeg", "Minimum valid fraction of a tile"))
    split: str = option("--split", "0.8,0.1,0.1", "train,val,test fractions, split by spatial blocks",
                        label=QT_TRANSLATE_NOOP("NoisySeg", "Train, validation and test fractions"))
    seed: int = option("--seed", 0, "seed of the split", type=int, label=QT_TRANSLATE_NOOP("NoisySeg", "Seed of the split"))
    nodata: Optional[str] = option("--nodata", None, NODATA_HELP, metavar="VALUE|none", advanced=True,
                                   label=QT_TRANSLATE_NOOP("NoisySeg", "Nodata value of the image (a number or none)"))
    out: Optional[str] = option("--out", None, "dataset folder to create", required=True, kind="folder-out",
                                label=QT_TRANSLATE_NOOP("NoisySeg", "Dataset folder"))
    force: bool = option("--force", False, f"export even a grid of more than {EXPORT_MAX_TILES:,} tiles, or where the "
                         "free space looks too small", advanced=True,
                         label=QT_TRANSLATE_NOOP("NoisySeg", "Export even a very large grid or with little free space"))
    overwrite: bool = option("--overwrite", False, "replace --out if it exists",
                             label=QT_TRANSLATE_NOOP("NoisySeg", "Replace the dataset folder if it exists"))


@dataclass(kw_only=True)
class CorruptOptions(OverwriteGroup):
    data: Optional[str] = option("--data", None, "dataset folder to corrupt (from `noisyseg export`)", required=True,
                                 kind="folder", cli_only="a study tool")
    out: Optional[str] = option("--out", None, "dataset folder to create", required=True, kind="folder-out",
                                cli_only="a study tool")
    rate: Optional[float] = option("--rate", None, "fraction of objects touched", type=float, required=True,
                                   minimum=0.0, maximum=1.0, cli_only="a study tool")
    kinds: str = option("--kinds", ",".join(C.NOISE_KINDS), "comma-separated noise kinds among " +
                        ", ".join(C.NOISE_KINDS), cli_only="a study tool")
    seed: int = option("--seed", 0, "seed of the corruption", type=int, cli_only="a study tool")
    overwrite: bool = option("--overwrite", False, "replace --out if it exists", cli_only="a study tool")


@dataclass(kw_only=True)
class PretrainOptions(EncoderWeightsGroup, TrainingGroup):
    method: str = option("--method", "noisy", "pretraining method", choices=C.METHODS, label=QT_TRANSLATE_NOOP("NoisySeg", "Method"))
    encoder: str = option("--encoder", "resnet18", "encoder", choices=C.ENCODERS, label=QT_TRANSLATE_NOOP("NoisySeg", "Encoder"))
    decoder: str = option("--decoder", "unet", "decoder", choices=C.DECODERS, label=QT_TRANSLATE_NOOP("NoisySeg", "Decoder"))
    base_width: int = _base_width(f"encoder width (default {C.DEFAULT_BASE_WIDTH}, torchvision's)",
                                  QT_TRANSLATE_NOOP("NoisySeg", "Encoder width"))
    simclr_epochs: Optional[int] = option("--simclr-epochs", None, "SimCLR epochs (default: --epochs)", type=int,
                                          minimum=0, label=QT_TRANSLATE_NOOP("NoisySeg", "SimCLR epochs (default: Epochs)"),
                                          advanced=True)
    temperature: Optional[float] = option("--temperature", None, "NT-Xent temperature (default 0.2)", type=float,
                                          above=0.0, label=QT_TRANSLATE_NOOP("NoisySeg", "SimCLR temperature (default 0.2)"), advanced=True)
    loss: str = option("--loss", PRETRAIN_LOSS, LOSS_HELP.format(PRETRAIN_LOSS), choices=C.LOSSES, label=LOSS_LABEL,
                       advanced=True)


@dataclass(kw_only=True)
class FinetuneOptions(EncoderWeightsGroup, TrainingGroup):
    epochs: int = option("--epochs", 30, "epochs of supervised training", type=int, minimum=0,
                         label=QT_TRANSLATE_NOOP("NoisySeg", "Epochs"))
    init: Optional[str] = option("--init", None, "pretrained RUN/model.pt, or 'none' to train from scratch",
                                 required=True, kind="file", extension="pt",
                                 label=QT_TRANSLATE_NOOP("NoisySeg", "Pretrained model (model.pt; empty: train from scratch)"))
    transfer: str = option("--transfer", C.AUTO, "parts copied from --init; auto (default): all when the classes and "
                           "decoder are unchanged, else the encoder", choices=C.TRANSFERS,
                           label=QT_TRANSLATE_NOOP("NoisySeg", "Parts copied from the pretrained model"))
    warmup: float = _warmup(FINETUNE_WARMUP)
    encoder_lr_scale: float = option("--encoder-lr-scale", ENCODER_LR_SCALE, "with --init a model: the encoder learns "
                                     "at --lr times this, the decoder and head at --lr", type=float, above=0.0,
                                     maximum=1.0, advanced=True,
                                     label=QT_TRANSLATE_NOOP("NoisySeg", "Encoder learning rate, as a fraction of the learning rate"))
    freeze: str = option("--freeze", "none", "'none', 'encoder', or blocks such as stem,layer1,layer2 (default none)",
                         label=QT_TRANSLATE_NOOP("NoisySeg", "Frozen parts"))
    decoder: Optional[str] = option("--decoder", None, "decoder (default: --init's, or unet)", choices=C.DECODERS,
                                    label=QT_TRANSLATE_NOOP("NoisySeg", "Decoder (default: the pretrained model's)"))
    encoder: str = option("--encoder", "resnet18", "encoder with --init none", choices=C.ENCODERS, advanced=True,
                          label=QT_TRANSLATE_NOOP("NoisySeg", "Encoder, when training from scratch"))
    base_width: int = _base_width("encoder width with --init none",
                                  QT_TRANSLATE_NOOP("NoisySeg", "Encoder width, when training from scratch"))
    max_tiles: Optional[int] = option("--max-tiles", None, "train on this many train tiles, drawn with --seed "
                                      "(default all)", type=int, minimum=1, advanced=True,
                                      label=QT_TRANSLATE_NOOP("NoisySeg", "Maximum train tiles (default: all)"))
    tiles_with: Optional[str] = option("--tiles-with", None, "train only on train tiles whose labels contain this "
                                       "class (name or id), as an operator picks tiles that show the objects "
                                       "(default: any tile)", metavar="CLASS", advanced=True,
                                       label=QT_TRANSLATE_NOOP("NoisySeg", "Train only on tiles that contain this class"))


@dataclass(kw_only=True)
class EvaluateOptions(TrainingDeviceGroup):
    model: Optional[str] = option("--model", None, "checkpoint (RUN/model.pt)", required=True,
                                  cli_only="the panel's fine-tune step evaluates")
    data: Optional[str] = option("--data", None, "dataset folder with reference masks", required=True,
                                 cli_only="the panel's fine-tune step evaluates")
    split: str = option("--split", "test", "tiles to evaluate", choices=C.SPLITS,
                        cli_only="the panel's fine-tune step evaluates")
    batch_size: int = option("--batch-size", 8, "tiles per batch", type=int, minimum=1,
                             cli_only="the panel's fine-tune step evaluates")
    out: Optional[str] = option("--out", None, "also write the metrics to this JSON file",
                                cli_only="the panel's fine-tune step evaluates")
    device: str = option("--device", "auto", "auto: CUDA, then MPS, then CPU", choices=C.TRAINING_DEVICES,
                         cli_only="the panel's fine-tune step evaluates")


@dataclass(kw_only=True)
class ExportOnnxOptions(OverwriteGroup):
    model: Optional[str] = option("--model", None, "RUN/model.pt, a checkpoint from pretrain or finetune",
                                  required=True, cli_only="the panel's predict step exports")
    out: Optional[str] = option("--out", None, "model.onnx to write", required=True,
                                cli_only="the panel's predict step exports")
    tile: Optional[int] = option("--tile", None, "the model's fixed input size in pixels (default: the tile size it "
                                 "was trained on); predict and Deepness use tiles of this size", type=int,
                                 minimum=TILE_MULTIPLE, multiple_of=TILE_MULTIPLE, why=TILE_WHY,
                                 cli_only="the panel's predict step exports")
    overlap: Optional[int] = option("--overlap", None, "suggested overlap for prediction, in pixels (default: a "
                                    "quarter tile)", type=int, minimum=0, cli_only="the panel's predict step exports")
    overwrite: bool = option("--overwrite", False, "replace --out if it exists",
                             cli_only="the panel's predict step exports")


@dataclass(kw_only=True)
class PredictOptions(OnnxDeviceGroup, OverwriteGroup):
    model: Optional[str] = option("--model", None, "model.onnx from `noisyseg export-onnx` (carries classes, bands, "
                                  "normalisation)", required=True, kind="file", extension="onnx",
                                  label=QT_TRANSLATE_NOOP("NoisySeg", "Model (model.onnx)"))
    image: Optional[str] = option("--image", None, "imagery GeoTIFF to predict", required=True, kind="raster",
                                  label=QT_TRANSLATE_NOOP("NoisySeg", "Image"))
    out: Optional[str] = option("--out", None, "class raster to write (a .qml style is written beside it)",
                                required=True, kind="raster-out", label=QT_TRANSLATE_NOOP("NoisySeg", "Classes"))
    confidence: Optional[str] = option("--confidence", None, "also write the confidence (largest class probability)",
                                       kind="raster-out", label=QT_TRANSLATE_NOOP("NoisySeg", "Confidence"))
    confidence_dtype: str = option("--confidence-dtype", "uint8", "uint8 percent (default) or float32 0..1",
                                   choices=C.CONFIDENCE_DTYPES, advanced=True,
                                   label=QT_TRANSLATE_NOOP("NoisySeg", "Confidence as uint8 percent or float32 0..1"))
    probabilities: Optional[str] = option("--probabilities", None, "also write one float32 band of probability per "
                                          "class", kind="raster-out",
                                          label=QT_TRANSLATE_NOOP("NoisySeg", "Probabilities (one band per class)"))
    disagreement_with: Optional[str] = option("--disagreement-with", None, "an existing map (vector or classified "
                                              "raster): write where the model disagrees with it", metavar="LABELS",
                                              kind="layer", label=QT_TRANSLATE_NOOP("NoisySeg", "Existing map to compare with"))
    disagreement_out: Optional[str] = option("--disagreement-out", None, "where to write the disagreement raster "
                                             "(default: OUT_disagreement.tif)", kind="raster-out",
                                             label=QT_TRANSLATE_NOOP("NoisySeg", "Disagreement"))
    disagreement_field: Optional[str] = option("--disagreement-field", None, "class field of a vector map (default: "
                                               "the field the model was trained from)", advanced=True,
                                               label=QT_TRANSLATE_NOOP("NoisySeg", "Class field of the existing map (default: "
                                                                    "the one the model was trained from)"))
    disagreement_encoding: Optional[str] = option("--disagreement-encoding", None, "attribute encoding of a vector "
                                                  "map (default: as declared, UTF-8 detected)", advanced=True,
                                                  label=QT_TRANSLATE_NOOP("NoisySeg", "Attribute encoding of the existing map"))
    extent: Optional[list] = option("--extent", None, "predict only this extent, in the image's CRS", type=float,
                                    nargs=4, metavar=("XMIN", "YMIN", "XMAX", "YMAX"), kind="extent",
                                    label=QT_TRANSLATE_NOOP("NoisySeg", "Extent (default: the whole image)"))
    tile: Optional[int] = option("--tile", None, "tile size in pixels (default: the model's)", type=int,
                                 minimum=TILE_MULTIPLE, multiple_of=TILE_MULTIPLE, why=TILE_WHY,
                                 label=QT_TRANSLATE_NOOP("NoisySeg", "Tile size, a multiple of 32 (default: the model's)"))
    overlap: Optional[int] = option("--overlap", None, "overlap between tiles in pixels (default: the model's)",
                                    type=int, minimum=0, label=QT_TRANSLATE_NOOP("NoisySeg", "Overlap between tiles (default: the model's)"))
    batch_size: int = option("--batch-size", 4, "tiles per batch", type=int, minimum=1,
                             label=QT_TRANSLATE_NOOP("NoisySeg", "Batch size (tiles)"))
    resample: bool = option("--resample", False, "read the image at the model's ground sample distance, write back at "
                            "the image's", advanced=True, label=QT_TRANSLATE_NOOP("NoisySeg", "Read the image at the model's resolution"))
    nodata: Optional[str] = option("--nodata", None, NODATA_HELP, metavar="VALUE|none", advanced=True,
                                   label=QT_TRANSLATE_NOOP("NoisySeg", "Nodata value of the image (a number or none)"))
    aoi: Optional[str] = option("--aoi", None, AOI_HELP + "; only tiles that meet it are predicted, pixels outside "
                                "it are nodata", metavar="FILE[:LAYER]", kind="aoi",
                                label=QT_TRANSLATE_NOOP("NoisySeg", "Area of interest (polygons, any CRS): only tiles "
                                                        "that meet it, nodata outside"))
    vectorize: Optional[str] = option("--vectorize", None, "also write the classes as polygons into this GeoPackage "
                                      "(see `noisyseg vectorize`)", metavar="OUT.gpkg", kind="vector-out",
                                      label=QT_TRANSLATE_NOOP("NoisySeg", "Polygons (GeoPackage)"))
    vector_min_area: Optional[float] = option("--vector-min-area", None, MIN_AREA_HELP, type=float, minimum=0.0,
                                              metavar="MAP_UNITS2", cli_only=VECTOR_CLI_ONLY)
    vector_simplify: Optional[float] = option("--vector-simplify", None, SIMPLIFY_HELP, type=float, minimum=0.0,
                                              metavar="MAP_UNITS", cli_only=VECTOR_CLI_ONLY)
    overwrite: bool = option("--overwrite", False, "replace existing outputs",
                             cli_only="Processing replaces its destinations itself")
    force: bool = option("--force", False, f"predict even more than {PREDICT_MAX_TILES:,} tiles, or where the free "
                         "space looks too small", advanced=True,
                         label=QT_TRANSLATE_NOOP("NoisySeg", "Predict even a very large grid or with little free space"))


@dataclass(kw_only=True)
class VectorizeOptions(OverwriteGroup):
    prediction: Optional[str] = option("--prediction", None, "class raster written by `noisyseg predict --out`",
                                       required=True, kind="raster",
                                       label=QT_TRANSLATE_NOOP("NoisySeg", "Class raster (of Predict)"))
    out: Optional[str] = option("--out", None, "GeoPackage to write (layer 'classes', styled by class)", required=True,
                                kind="vector-out", label=QT_TRANSLATE_NOOP("NoisySeg", "Polygons"))
    min_area: Optional[float] = option("--min-area", None, MIN_AREA_HELP, type=float, minimum=0.0, metavar="MAP_UNITS2",
                                       label=QT_TRANSLATE_NOOP("NoisySeg", "Minimum area, square map units (default: 4 pixels)"))
    simplify: Optional[float] = option("--simplify", None, SIMPLIFY_HELP, type=float, minimum=0.0, metavar="MAP_UNITS",
                                       advanced=True,
                                       label=QT_TRANSLATE_NOOP("NoisySeg", "Simplification tolerance, map units (default: one pixel)"))
    confidence: Optional[str] = option("--confidence", None, "confidence raster to average per polygon (default: "
                                       "PREDICTION_confidence.tif beside the prediction, if there is one)", kind="file",
                                       extension="tif",
                                       label=QT_TRANSLATE_NOOP("NoisySeg", "Confidence raster (default: the one beside it)"))
    aoi: Optional[str] = option("--aoi", None, "polygon layer (any CRS): only pixels inside it are vectorized",
                                metavar="FILE[:LAYER]", kind="aoi",
                                label=QT_TRANSLATE_NOOP("NoisySeg", "Area of interest (polygons, any CRS): only tiles "
                                                        "that meet it, nodata outside"))
    overwrite: bool = option("--overwrite", False, "replace an existing GeoPackage that noisyseg wrote",
                             cli_only="Processing replaces its destinations itself")


@dataclass(kw_only=True)
class CompareMapOptions(OverwriteGroup):
    prediction: Optional[str] = option("--prediction", None, "class raster written by `noisyseg predict --out`",
                                       required=True, kind="raster",
                                       label=QT_TRANSLATE_NOOP("NoisySeg", "Class raster (of Predict)"))
    labels: Optional[str] = option("--labels", None, "the old map: a polygon layer (FILE.gpkg:LAYER, .shp, ...)",
                                   required=True, metavar="OLD_MAP", kind="layer",
                                   label=QT_TRANSLATE_NOOP("NoisySeg", "Old map (polygons)"))
    field: Optional[str] = option("--field", None, "the old map's class field (default: the field the model was "
                                  "trained from)", label=QT_TRANSLATE_NOOP("NoisySeg", "Class field of the old map "
                                                                           "(default: the model's training field)"))
    model: Optional[str] = option("--model", None, "model.onnx that made the prediction: its classes' source values "
                                  "map the field's values (default: a value matches a class by name or id)",
                                  kind="file", extension="onnx",
                                  label=QT_TRANSLATE_NOOP("NoisySeg", "Model (model.onnx) that made the prediction"))
    confidence: Optional[str] = option("--confidence", None, "confidence raster (default: PREDICTION_confidence.tif "
                                       "beside the prediction)", kind="file", extension="tif",
                                       label=QT_TRANSLATE_NOOP("NoisySeg", "Confidence raster (default: the one beside it)"))
    out: Optional[str] = option("--out", None, "GeoPackage to write, layer 'map_changes' (default: "
                                "PREDICTION_changes.gpkg)", kind="vector-out",
                                label=QT_TRANSLATE_NOOP("NoisySeg", "Map changes"))
    overwrite: bool = option("--overwrite", False, "replace an existing GeoPackage that noisyseg wrote",
                             cli_only="Processing replaces its destinations itself")


@dataclass(kw_only=True)
class SuggestOptions(OnnxDeviceGroup):
    model: Optional[str] = option("--model", None, "model.onnx from `noisyseg export-onnx`", required=True, kind="file",
                                  extension="onnx", label=QT_TRANSLATE_NOOP("NoisySeg", "Model (model.onnx)"))
    data: Optional[str] = option("--data", None, "dataset folder whose tiles are ranked (its masks are the noisy "
                                 "labels)", required=True, kind="folder",
                                 label=QT_TRANSLATE_NOOP("NoisySeg", "Dataset folder (its masks are the noisy labels)"))
    top: int = option("--top", 10, "how many tiles to suggest", type=int, minimum=1,
                      label=QT_TRANSLATE_NOOP("NoisySeg", "Tiles to suggest"))
    by: str = option("--by", "both", "score: 1 - mean confidence, disagreement with the noisy mask, or their mean "
                     "(default both)", choices=C.SUGGEST_BY,
                     label=QT_TRANSLATE_NOOP("NoisySeg", "Rank by (both: the mean of 1 - confidence and disagreement)"))
    split: str = option("--split", "all", "tiles to rank", choices=("all", "train", "val", "test"),
                        label=QT_TRANSLATE_NOOP("NoisySeg", "Split of the tiles to rank"))
    out: Optional[str] = option("--out", None, "also write every tile's scores to this JSON file", kind="file-out",
                                extension="json", label=QT_TRANSLATE_NOOP("NoisySeg", "Scores of every tile (JSON)"))
    nodata: Optional[str] = option("--nodata", None, "also treat pixels of this value in every band as nodata; 'none': "
                                   "every pixel is data (default: the tiles' own masks, from export)",
                                   metavar="VALUE|none", advanced=True,
                                   label=QT_TRANSLATE_NOOP("NoisySeg", "Nodata value of the image (a number or none)"))
    aoi: Optional[str] = option("--aoi", None, AOI_HELP + "; only tiles that meet it are ranked, on their pixels "
                                "inside it", metavar="FILE[:LAYER]", kind="aoi",
                                label=QT_TRANSLATE_NOOP("NoisySeg", "Area of interest (polygons, any CRS): only tiles "
                                                        "that meet it are ranked, on their pixels inside it"))
    batch_size: int = option("--batch-size", 8, "tiles per batch", type=int, minimum=1,
                             label=QT_TRANSLATE_NOOP("NoisySeg", "Batch size (tiles)"))


@dataclass(kw_only=True)
class CleanOptions(OverwriteGroup):
    data: Optional[str] = option("--data", None, "the noisy dataset folder the tiles come from (from `noisyseg "
                                 "export`)", required=True, cli_only="the panel's annotate step cleans")
    labels: Optional[str] = option("--labels", None, "corrected polygons with an integer class id field (a class id "
                                   "of the noisy dataset)", required=True, metavar="FILE.gpkg:clean_labels",
                                   cli_only="the panel's annotate step cleans")
    tiles: Optional[str] = option("--tiles", None, "tiles layer with tile_id and done (0/1); the tiles with done = 1 "
                                  "are taken, those whose split field is 'check' as the test split (check tiles: never "
                                  "trained on)", required=True, metavar="FILE.gpkg:tiles",
                                  cli_only="the panel's annotate step cleans")
    out: Optional[str] = option("--out", None, "clean dataset folder to create", required=True,
                                cli_only="the panel's annotate step cleans")
    field: str = option("--field", "class_id", "class id field of --labels", cli_only="the panel's annotate step cleans")
    unlabeled: Optional[str] = option("--unlabeled", None, "what pixels no clean polygon covers become (default: as in "
                                      "the noisy dataset)", choices=C.UNLABELED,
                                      cli_only="the panel's annotate step cleans")
    val_fraction: float = option("--val-fraction", 0.25, "fraction of the done tiles for validation (default 0.25; at "
                                 "least one tile when there are two or more)", type=float, minimum=0.0, below=1.0,
                                 cli_only="the panel's annotate step cleans")
    overwrite: bool = option("--overwrite", False, "replace --out if it exists",
                             cli_only="the panel's annotate step cleans")


@dataclass(kw_only=True)
class AnalyzeOptions(OverwriteGroup):
    a: Optional[str] = option("--a", None, "first checkpoint (RUN_A/model.pt)", required=True, cli_only="a study tool")
    b: Optional[str] = option("--b", None, "second checkpoint (RUN_B/model.pt), same architecture", required=True,
                              cli_only="a study tool")
    data: Optional[str] = option("--data", None, "dataset folder whose tiles feed the activation comparison",
                                 required=True, cli_only="a study tool")
    out: Optional[str] = option("--out", None, "folder to write layers.json and layers.png into (replaced as a whole)",
                                required=True, cli_only="a study tool")
    baseline: Optional[str] = option("--baseline", None, "A2/model.pt,B2/model.pt: two runs that differ only in seed, "
                                     "the reference for 'different'", cli_only="a study tool")
    tiles: int = option("--tiles", 16, "tiles for the activations, drawn with --seed", type=int, minimum=1,
                        cli_only="a study tool")
    bins: int = option("--bins", 100, "histogram bins", type=int, minimum=2, cli_only="a study tool")
    seed: int = option("--seed", 0, "seed of the tile draw", type=int, cli_only="a study tool")
    overwrite: bool = option("--overwrite", False, "replace --out if it exists", cli_only="a study tool")


@dataclass(kw_only=True)
class DemoOptions(TrainingDeviceGroup):
    out: str = option("--out", "demo_out", "output folder (default demo_out); a previous demo's output there is "
                      "replaced, any other non-empty folder is refused", cli_only="the panel's Help menu runs it")
    quick: bool = option("--quick", False, "a one-minute version: tiny model, 2 epochs, one seed",
                         cli_only="the panel's Help menu runs it")
    data_dir: str = option("--data-dir", str(BUNDLED_DATA), "folder holding denmark_s2_fields/ (default: the "
                           "repository's data/)", cli_only="the panel's Help menu runs it")
    tile: int = option("--tile", 64, "tile size in pixels", type=int, minimum=TILE_MULTIPLE, multiple_of=TILE_MULTIPLE,
                       why=TILE_WHY, cli_only="the panel's Help menu runs it")
    device: str = option("--device", "auto", "training device (default auto: CUDA, then MPS, then CPU)",
                         choices=C.TRAINING_DEVICES, cli_only="the panel's Help menu runs it")


@dataclass(kw_only=True)
class EnvOptions:
    no_torch: bool = option("--no-torch", False, "don't import torch (faster; no CUDA report)",
                            cli_only="the panel's settings report the environment")


# Studies -----------------------------------------------------------------------------------

STUDY = "a study tool"


@dataclass(kw_only=True)
class StudyOptions(TrainingDeviceGroup, OverwriteGroup):
    """What every study kind shares: its datasets, its folder and the training of its runs."""
    clean: Optional[str] = option("--clean", None, "dataset of clean labels: K train tiles are drawn from it, its val "
                                  "tiles pick the best epoch", required=True, cli_only=STUDY)
    test: Optional[str] = option("--test", None, "dataset to evaluate on (same classes as --clean)", required=True,
                                 cli_only=STUDY)
    test_split: str = option("--test-split", "test", "split of --test to evaluate on", choices=C.SPLITS, cli_only=STUDY)
    out: Optional[str] = option("--out", None, "study folder; rerunning the same command resumes it", required=True,
                                cli_only=STUDY)
    metric: str = option("--metric", "miou", "what the tables and figure show: miou (default) or iou:CLASS, e.g. "
                         "iou:building", cli_only=STUDY)
    k: str = option("--k", "8", "clean fine-tuning tiles", cli_only=STUDY)
    seeds: str = option("--seeds", "2", "a count or a list of seeds", cli_only=STUDY)
    # training, shared by every run of the study
    epochs: int = option("--epochs", 30, "fine-tuning epochs", type=int, minimum=1, cli_only=STUDY)
    pretrain_epochs: int = option("--pretrain-epochs", 20, "pretraining epochs", type=int, minimum=1, cli_only=STUDY)
    simclr_epochs: Optional[int] = option("--simclr-epochs", None, "SimCLR epochs (default: --pretrain-epochs)",
                                          type=int, minimum=1, cli_only=STUDY)
    encoder: str = option("--encoder", "resnet18", "encoder", choices=C.ENCODERS, cli_only=STUDY)
    base_width: int = option("--base-width", C.DEFAULT_BASE_WIDTH, "encoder width", type=int, minimum=8, maximum=128,
                             cli_only=STUDY)
    batch_size: int = option("--batch-size", 8, "tiles per batch", type=int, minimum=1, cli_only=STUDY)
    lr: float = option("--lr", 1e-3, "fine-tuning learning rate", type=float, above=0.0, cli_only=STUDY)
    pretrain_lr: float = option("--pretrain-lr", 1e-3, "pretraining learning rate", type=float, above=0.0,
                                cli_only=STUDY)
    pretrain_label_smoothing: float = option("--pretrain-label-smoothing", 0.0, "label smoothing of noisy pretraining",
                                             type=float, minimum=0.0, below=1.0, cli_only=STUDY)
    pretrain_loss: str = option("--pretrain-loss", PRETRAIN_LOSS, "loss of noisy pretraining (see pretrain --loss; "
                                f"default {PRETRAIN_LOSS})", choices=C.LOSSES, cli_only=STUDY)
    class_weights: bool = option("--class-weights", False, "weight the loss by inverse class frequency, in pretraining "
                                 "and fine-tuning", cli_only=STUDY)
    tiles_with: Optional[str] = option("--tiles-with", None, "draw the K clean tiles among those whose labels contain "
                                       "this class, as an operator annotates tiles that show the objects (default: "
                                       "any train tile; K=all is every tile)", metavar="CLASS", cli_only=STUDY)
    patience: Optional[int] = option("--patience", None, "early stopping patience in epochs (default none)", type=int,
                                     minimum=1, cli_only=STUDY)
    min_steps: Optional[int] = option("--min-steps", None, "fine-tune for at least this many optimizer steps: more "
                                      "epochs for small K (default: --epochs whatever K)", type=int, minimum=1,
                                      cli_only=STUDY)
    device: str = option("--device", "auto", "auto: CUDA, then MPS, then CPU", choices=C.TRAINING_DEVICES,
                         cli_only=STUDY)
    encoder_weights: Optional[str] = option("--encoder-weights", None, "start the encoder of pretraining and of the "
                                            "scratch runs from these weights (see pretrain; default none)",
                                            metavar="PATH|imagenet|none", cli_only=STUDY)
    rgb_bands: Optional[str] = option("--rgb-bands", None, "with 3-band weights: the bands holding red, green, blue",
                                      metavar="R,G,B", cli_only=STUDY)
    overwrite: bool = option("--overwrite", False, "delete the study folder's runs and start again", cli_only=STUDY)


@dataclass(kw_only=True)
class LabelEfficiencyStudyOptions(StudyOptions):
    noisy: Optional[str] = option("--noisy", None, "dataset of noisy labels to pretrain on (noisyseg export)",
                                  required=True, cli_only=STUDY)
    k: str = option("--k", "2,4,8,16,all", "clean tile counts (default 2,4,8,16,all)", cli_only=STUDY)
    inits: str = option("--inits", ",".join(C.STUDY_INITS), "inits among scratch, noisy, simclr, simclr+noisy "
                        "(default all four)", cli_only=STUDY)
    seeds: str = option("--seeds", "3", "a count (3: seeds 0,1,2) or a list such as 0,5 (default 3)", cli_only=STUDY)
    transfer: str = option("--transfer", C.AUTO, "what fine-tuning copies from a pretrained model (default auto, see "
                           "finetune)", choices=C.TRANSFERS, cli_only=STUDY)
    freeze: str = option("--freeze", "none", "parts frozen while fine-tuning (default none)", cli_only=STUDY)


@dataclass(kw_only=True)
class NoiseStudyOptions(StudyOptions):
    clean: Optional[str] = option("--clean", None, "dataset of clean labels: K train tiles are drawn from it, its val "
                                  "tiles pick the best epoch, and its labels are corrupted for pretraining",
                                  required=True, cli_only=STUDY)
    rates: str = option("--rates", "0,0.1,0.2,0.4,0.6", "noise rates (default 0,0.1,0.2,0.4,0.6)", cli_only=STUDY)
    kinds: str = option("--kinds", "remove,shift,erode,dilate,flip", "noise kinds, each alone (default "
                        "remove,shift,erode,dilate,flip)", cli_only=STUDY)
    k: int = option("--k", 8, "clean fine-tuning tiles", type=int, cli_only=STUDY)
    noise_seed: int = option("--noise-seed", 0, "seed of the corruption", type=int, cli_only=STUDY)


@dataclass(kw_only=True)
class TransferStudyOptions(StudyOptions):
    noisy: Optional[str] = option("--noisy", None, "dataset of noisy labels to pretrain on (noisyseg export)",
                                  required=True, cli_only=STUDY)
    k: int = option("--k", 8, "clean fine-tuning tiles", type=int, cli_only=STUDY)
    decoders: str = option("--decoders", "fpn,deeplabv3plus", "decoders to fine-tune the U-Net-pretrained encoder "
                           "with (default fpn,deeplabv3plus)", cli_only=STUDY)
    coarse_classes: Optional[str] = option("--coarse-classes", None, "coarse class set to pretrain on, merging the "
                                           "dataset's classes: 'cereals=1,2;grass=4,5;other=3,6' (names=class ids; "
                                           "default: every non-background class in one)", cli_only=STUDY)


STUDIES = {"label-efficiency": LabelEfficiencyStudyOptions, "noise": NoiseStudyOptions,
           "transfer": TransferStudyOptions}

# The options class of every command (``study`` has one per kind, in STUDIES).
COMMANDS = {
    "export": ExportOptions, "corrupt": CorruptOptions, "export-onnx": ExportOnnxOptions, "predict": PredictOptions,
    "vectorize": VectorizeOptions, "compare-map": CompareMapOptions,
    "demo": DemoOptions, "pretrain": PretrainOptions, "finetune": FinetuneOptions, "evaluate": EvaluateOptions,
    "analyze": AnalyzeOptions, "clean": CleanOptions, "suggest": SuggestOptions, "env": EnvOptions,
}


def spec_for(command: str, kind: Optional[str] = None):
    if command == "study":
        return STUDIES[kind] if kind else StudyOptions
    return COMMANDS[command]


def command_of(options) -> str:
    """The command whose options class ``options`` is an instance of."""
    return next(name for name, spec in COMMANDS.items() if type(options) is spec)


def command_argv(options) -> list[str]:
    """``[COMMAND, *ARGS]``: the backend's arguments that give it ``options`` (an instance of a
    command's class), from :func:`~.fields.to_argv`; the panel runs its steps with these."""
    return [command_of(options), *to_argv(options)]


__all__ = ["COMMANDS", "STUDIES", "SpecError", "command_argv", "command_of", "spec_for", "TILE_MULTIPLE"]
