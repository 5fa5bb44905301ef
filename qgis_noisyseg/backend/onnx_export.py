"""``noisyseg export-onnx``: a checkpoint becomes an ONNX model that carries its own contract.

The graph takes normalised pixels ``image`` [N, bands, T, T] and gives softmax ``probabilities``
[N, classes, T, T]: the batch is dynamic, the spatial size T is the model's tile size, fixed, as
Deepness (the QGIS plugin for ONNX models) needs it. Everything our predictor needs (classes with
names, colours and source values, band order, normalisation, tile size and overlap, ground sample
distance, ignore/nodata, provenance) is stored as the ``noisyseg`` metadata entry, so a model
needs no side files; the keys Deepness reads (``model_type``, ``class_names``, ``resolution`` in
cm/px, ``tile_size``, ``tiles_overlap`` in percent, ``standardization_mean``/``std`` after its
x/255, ``seg_thresh``, ``seg_small_segment``) are derived from it, so that the same file runs in
both. After export, onnxruntime and torch must agree on samples. See docs/contracts.md.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
import onnx

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # see inference/model.py
import onnxruntime as ort  # noqa: E402
import torch

from .. import __version__
from ..core.atomic import atomic_file
from ..core.errors import UserError
from ..core.imagery import sha256_of
from .checkpoint import check_checkpoint, load_checkpoint, require_finite_weights
from .models import build_model

METADATA_KEY = "noisyseg"
FORMAT_VERSION = 2
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
OPSET = 17
TILE_MULTIPLE = 32
# A softmax moves no probability by more than half the largest change of a logit: half the 1e-4
# that format version 1 allowed on the logits.
MAX_ABS_PROBABILITY_DIFFERENCE = 5e-5
# Deepness divides every pixel by 255 before its standardisation, whatever the raster's type.
DEEPNESS_SCALE = 255.0
DEEPNESS_MODEL_TYPE = "Segmentor"
# Metres per unit of a CRS's axes. Degrees use QGIS's own factor (QgsUnitTypes: 111319.49079327357 m
# per degree, at the equator), the one Deepness converts its cm/px back to degrees with, so a
# degree grid round-trips exactly.
METRES_PER_UNIT = {"metre": 1.0, "meter": 1.0, "metres": 1.0, "meters": 1.0, "m": 1.0,
                   "degree": 111319.49079327357, "degrees": 111319.49079327357,
                   "foot": 0.3048, "feet": 0.3048, "ft": 0.3048,
                   "us survey foot": 1200.0 / 3937.0}


class ExportMismatch(RuntimeError):
    """onnxruntime and torch disagree on the exported model: the file is not written."""


class WithSoftmax(torch.nn.Module):
    """The network followed by a softmax over the classes: the graph's output is probabilities."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(image), dim=1)


def export_onnx(checkpoint_path: "str | os.PathLike", out_path: "str | os.PathLike", *,
                overlap: Optional[int] = None, tile: Optional[int] = None, reporter=None) -> dict:
    checkpoint = load_checkpoint(checkpoint_path)
    check_checkpoint(checkpoint, checkpoint_path)
    config = checkpoint["config"]
    require_finite_weights(checkpoint["state_dict"], checkpoint_path)
    model = build_model(config)
    missing, unexpected = model.load_state_dict(checkpoint["state_dict"], strict=False)
    if missing or unexpected:
        raise UserError(f"{checkpoint_path}: its weights do not fit its own architecture "
                        f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    model.eval()
    tile = export_tile_size(config, tile)
    metadata = contract(config, tile, overlap, sha256_of([Path(checkpoint_path)]))
    deepness = deepness_metadata(metadata)
    if metadata["resolution"] and "resolution" not in deepness and reporter is not None:
        reporter.warning(f"the model's resolution {metadata['resolution']} {metadata['units']} cannot be given to "
                         "Deepness in cm/px; set its resolution by hand there")

    network = WithSoftmax(model).eval()
    in_channels = model_in_channels(config)
    sample = torch.randn(1, in_channels, tile, tile, generator=torch.Generator().manual_seed(0))
    with atomic_file(out_path) as tmp:
        with warnings.catch_warnings():  # the TorchScript exporter: onnxscript (dynamo) is not a dependency
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(network, (sample,), str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                              opset_version=OPSET, dynamo=False)
        graph = onnx.load(str(tmp))
        props = {METADATA_KEY: json.dumps(metadata, ensure_ascii=False)}
        props.update({key: json.dumps(value, ensure_ascii=False) for key, value in deepness.items()})
        onnx.helper.set_model_props(graph, props)
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp))
        difference = check_agreement(network, tmp, in_channels, tile)
    if reporter is not None:
        reporter.info(f"onnxruntime and torch agree: max |probability difference| {difference:.2e}")
    return {"model": str(out_path), "max_abs_probability_difference": difference,
            "classes": len(metadata["classes"]), "tile_size": metadata["tile_size"], "overlap": metadata["overlap"]}


def model_in_channels(config: dict) -> int:
    return int(config["in_channels"])


def export_tile_size(config: dict, tile: Optional[int]) -> int:
    """The fixed input size: ``--tile``, or the tile size the model was trained on (rounded down
    to a multiple of 32, as the encoders halve the size five times)."""
    if tile is not None:
        if tile < TILE_MULTIPLE or tile % TILE_MULTIPLE:
            raise UserError(f"--tile {tile} must be a positive multiple of {TILE_MULTIPLE}")
        return int(tile)
    trained = int(config.get("tile_size") or 256)
    return max(TILE_MULTIPLE, trained - trained % TILE_MULTIPLE)


def contract(config: dict, tile: int, overlap: Optional[int], checkpoint_sha256: str) -> dict:
    """The ``noisyseg`` ONNX metadata of docs/contracts.md, from a checkpoint's config."""
    try:
        classes = [{"id": int(c["id"]), "name": str(c["name"]), "color": str(c["color"]),
                    "values": [str(v) for v in c.get("values", [])]} for c in config["classes"]]
        normalization = {"mean": [float(v) for v in config["normalization"]["mean"]],
                         "std": [float(v) for v in config["normalization"]["std"]],
                         "scheme": str(config["normalization"].get("scheme", "dataset"))}
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"the checkpoint's config lacks what a model needs to predict ({exc})") from None
    in_channels = model_in_channels(config)
    bands = config.get("bands") or [{"index": i + 1, "name": f"band{i + 1}"} for i in range(in_channels)]
    overlap = tile // 4 if overlap is None else int(overlap)
    if not 0 <= overlap < tile:
        raise UserError(f"--overlap {overlap} must be at least 0 and smaller than the tile size {tile}")
    provenance_config = {k: v for k, v in config.items() if k not in ("history", "classes", "normalization", "bands")}
    return {
        "format": "noisyseg-onnx", "format_version": FORMAT_VERSION,
        "classes": classes, "bands": bands, "in_channels": in_channels, "normalization": normalization,
        "tile_size": tile, "overlap": overlap, "input_size": [tile, tile], "output": OUTPUT_NAME,
        "resolution": config.get("resolution"), "units": config.get("units"),
        "ignore_index": 255, "nodata": config.get("nodata"),
        "provenance": {"config": provenance_config, "dataset_sha256": config.get("dataset_sha256"),
                       "label_field": config.get("label_field"), "checkpoint_sha256": checkpoint_sha256,
                       "best_metric": _best_metric(config.get("history")), "package_version": __version__},
    }


def deepness_metadata(metadata: dict) -> dict:
    """The metadata keys Deepness reads, derived from our contract; each value is JSON-encoded
    when stored (Deepness ``json.loads`` every one).

    Deepness feeds the model ``(x / 255 - mean') / std'``; with ``mean' = mean / 255`` and
    ``std' = std / 255`` that is our ``(x - mean) / std`` for any pixel type (uint8, uint16
    reflectance, float), not only 8-bit imagery."""
    classes = metadata["classes"]
    tile = int(metadata["tile_size"])
    values: dict[str, Any] = {
        "model_type": DEEPNESS_MODEL_TYPE,
        "class_names": {str(c["id"]): c["name"] for c in classes},
        "tile_size": tile,
        "tiles_overlap": int(round(100 * int(metadata["overlap"]) / tile)),
        "standardization_mean": [m / DEEPNESS_SCALE for m in metadata["normalization"]["mean"]],
        "standardization_std": [s / DEEPNESS_SCALE for s in metadata["normalization"]["std"]],
        "seg_thresh": 0.0,        # our prediction is the plain argmax: no probability threshold
        "seg_small_segment": 0,   # and no small-segment removal
    }
    resolution = resolution_cm_per_px(metadata.get("resolution"), metadata.get("units"))
    if resolution is not None:
        values["resolution"] = resolution
    return values


def resolution_cm_per_px(resolution: Any, units: Optional[str]) -> Optional[float]:
    """One ground sample distance in cm/px (Deepness has one for both axes: the mean of x and y),
    or None when the resolution or its units are unknown."""
    if not resolution or units is None:
        return None
    metres = METRES_PER_UNIT.get(str(units).strip().lower())
    if metres is None:
        return None
    size = (abs(float(resolution[0])) + abs(float(resolution[-1]))) / 2
    return size * metres * 100.0 if size > 0 else None


def check_agreement(network: torch.nn.Module, onnx_path: Path, in_channels: int, tile: int) -> float:
    """Max |probability| difference between torch and onnxruntime on two samples, one a batch of
    another size than the export sample, so the dynamic batch is checked too. Raises ExportMismatch."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(1)
    worst = 0.0
    for batch in (1, 3):
        sample = torch.randn(batch, in_channels, tile, tile, generator=generator)
        with torch.no_grad():
            expected = network(sample).numpy()
        got = session.run([OUTPUT_NAME], {INPUT_NAME: sample.numpy()})[0]
        if not (np.isfinite(expected).all() and np.isfinite(got).all()):
            raise UserError("the model's outputs are not finite (NaN or infinity) on a test input: its weights are "
                            "damaged or from a diverged run; export another checkpoint")
        worst = max(worst, float(np.abs(expected - got).max()))
    if not worst < MAX_ABS_PROBABILITY_DIFFERENCE:
        raise ExportMismatch(f"onnxruntime and torch disagree on the exported model: max |probability difference| "
                             f"{worst:.3g} >= {MAX_ABS_PROBABILITY_DIFFERENCE}; the model was not written")
    return worst


def _best_metric(history: Any) -> Optional[float]:
    if not isinstance(history, list):
        return None
    scores = [h.get("val_miou") for h in history if isinstance(h, dict) and h.get("val_miou") is not None]
    return max(scores) if scores else None
