"""``noisyseg export-onnx``: a checkpoint becomes an ONNX model that carries its own contract.

The graph takes normalised pixels ``image`` [N, bands, H, W] and gives ``logits``
[N, classes, H, W], with batch, height and width dynamic. Everything a predictor needs (classes
with names, colours and source values, band order, normalisation, tile size and overlap,
ground sample distance, ignore/nodata, provenance) is stored as the ``noisyseg`` metadata entry,
so a model needs no side files. After export, onnxruntime and torch must agree on samples.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
import onnx
import onnxruntime as ort
import torch

from .. import __version__
from ..core.atomic import atomic_file
from ..core.errors import UserError
from ..core.imagery import sha256_of
from .checkpoint import load_checkpoint, require_finite_weights
from .models import build_model

METADATA_KEY = "noisyseg"
OPSET = 17
MAX_ABS_LOGIT_DIFFERENCE = 1e-4


class ExportMismatch(RuntimeError):
    """onnxruntime and torch disagree on the exported model: the file is not written."""


def export_onnx(checkpoint_path: "str | os.PathLike", out_path: "str | os.PathLike", *,
                overlap: Optional[int] = None, reporter=None) -> dict:
    checkpoint = load_checkpoint(checkpoint_path)
    config = checkpoint["config"]
    require_finite_weights(checkpoint["state_dict"], checkpoint_path)
    model = build_model(config)
    missing, unexpected = model.load_state_dict(checkpoint["state_dict"], strict=False)
    if missing or unexpected:
        raise UserError(f"{checkpoint_path}: its weights do not fit its own architecture "
                        f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    model.eval()
    tile = int(config.get("tile_size") or 256)
    tile -= tile % 32
    metadata = contract(config, tile, overlap, sha256_of([Path(checkpoint_path)]))

    sample = torch.randn(1, model_in_channels(config), tile, tile, generator=torch.Generator().manual_seed(0))
    with atomic_file(out_path) as tmp:
        with warnings.catch_warnings():  # the TorchScript exporter: onnxscript (dynamo) is not a dependency
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(model, (sample,), str(tmp), input_names=["image"], output_names=["logits"],
                              dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                            "logits": {0: "batch", 2: "height", 3: "width"}},
                              opset_version=OPSET, dynamo=False)
        graph = onnx.load(str(tmp))
        onnx.helper.set_model_props(graph, {METADATA_KEY: json.dumps(metadata, ensure_ascii=False)})
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp))
        difference = check_agreement(model, tmp, model_in_channels(config), tile)
    if reporter is not None:
        reporter.info(f"onnxruntime and torch agree: max |logit difference| {difference:.2e}")
    return {"model": str(out_path), "max_abs_logit_difference": difference, "classes": len(metadata["classes"]),
            "tile_size": metadata["tile_size"], "overlap": metadata["overlap"]}


def model_in_channels(config: dict) -> int:
    return int(config["in_channels"])


def contract(config: dict, tile: int, overlap: Optional[int], checkpoint_sha256: str) -> dict:
    """The ONNX metadata of docs/contracts.md, from a checkpoint's config."""
    try:
        classes = [{"id": int(c["id"]), "name": str(c["name"]), "color": str(c["color"]),
                    "values": [str(v) for v in c.get("values", [])]} for c in config["classes"]]
        normalization = {"mean": [float(v) for v in config["normalization"]["mean"]],
                         "std": [float(v) for v in config["normalization"]["std"]]}
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"the checkpoint's config lacks what a model needs to predict ({exc})") from None
    in_channels = model_in_channels(config)
    bands = config.get("bands") or [{"index": i + 1, "name": f"band{i + 1}"} for i in range(in_channels)]
    overlap = tile // 4 if overlap is None else int(overlap)
    if not 0 <= overlap < tile:
        raise UserError(f"--overlap {overlap} must be at least 0 and smaller than the tile size {tile}")
    provenance_config = {k: v for k, v in config.items() if k not in ("history", "classes", "normalization", "bands")}
    return {
        "format": "noisyseg-onnx", "format_version": 1,
        "classes": classes, "bands": bands, "in_channels": in_channels, "normalization": normalization,
        "tile_size": tile, "overlap": overlap,
        "resolution": config.get("resolution"), "units": config.get("units"),
        "ignore_index": 255, "nodata": config.get("nodata"),
        "provenance": {"config": provenance_config, "dataset_sha256": config.get("dataset_sha256"),
                       "label_field": config.get("label_field"), "checkpoint_sha256": checkpoint_sha256,
                       "best_metric": _best_metric(config.get("history")), "package_version": __version__},
    }


def check_agreement(model: torch.nn.Module, onnx_path: Path, in_channels: int, tile: int) -> float:
    """Max |logit| difference between torch and onnxruntime on two samples, one of another batch
    and size than the export sample, so dynamic axes are checked too. Raises ExportMismatch."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(1)
    worst = 0.0
    for batch, size in ((1, tile), (2, tile + 32)):
        sample = torch.randn(batch, in_channels, size, size, generator=generator)
        with torch.no_grad():
            expected = model(sample).numpy()
        got = session.run(["logits"], {"image": sample.numpy()})[0]
        if not (np.isfinite(expected).all() and np.isfinite(got).all()):
            raise UserError("the model's outputs are not finite (NaN or infinity) on a test input: its weights are "
                            "damaged or from a diverged run; export another checkpoint")
        worst = max(worst, float(np.abs(expected - got).max()))
    if not worst < MAX_ABS_LOGIT_DIFFERENCE:
        raise ExportMismatch(f"onnxruntime and torch disagree on the exported model: max |logit difference| "
                             f"{worst:.3g} >= {MAX_ABS_LOGIT_DIFFERENCE}; the model was not written")
    return worst


def _best_metric(history: Any) -> Optional[float]:
    if not isinstance(history, list):
        return None
    scores = [h.get("val_miou") for h in history if isinstance(h, dict) and h.get("val_miou") is not None]
    return max(scores) if scores else None

