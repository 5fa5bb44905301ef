"""An exported segmentation model: an ONNX graph plus the ``noisyseg`` metadata contract.

See docs/contracts.md ("ONNX model"): input ``image`` float32 [N, bands, H, W] normalised here
with the metadata's ``(x - mean) / std``; output ``logits`` float32 [N, classes, H, W].
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import onnxruntime as ort

from ..core.errors import UserError

METADATA_KEY = "noisyseg"
METADATA_FORMAT = "noisyseg-onnx"
METADATA_VERSION = 1
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
DEVICES = ("auto", "cuda", "cpu")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"

_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class ModelMetadata:
    classes: list[dict]
    in_channels: int
    mean: np.ndarray
    std: np.ndarray
    tile_size: int
    overlap: int
    resolution: Optional[tuple[float, float]]
    units: Optional[str]
    ignore_index: int
    bands: list[dict]
    raw: dict


class OnnxSegmenter:
    """Runs an exported model with onnxruntime: ``predict_batch`` takes raw pixel values."""

    def __init__(self, path: "str | Path", *, device: str = "auto", threads: Optional[int] = None) -> None:
        self.path = Path(path)
        if device not in DEVICES:
            raise UserError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
        if not self.path.is_file():
            raise UserError(f"{self.path}: model file not found")
        self._session = _create_session(self.path, device, threads)
        self.metadata = _read_metadata(self._session, self.path)
        _check_graph_signature(self._session, self.path, self.metadata.in_channels)

    @property
    def classes(self) -> list[dict]:
        return [dict(cls) for cls in self.metadata.classes]

    @property
    def num_classes(self) -> int:
        return len(self.metadata.classes)

    @property
    def in_channels(self) -> int:
        return self.metadata.in_channels

    @property
    def normalization(self) -> dict:
        return {"mean": self.metadata.mean.tolist(), "std": self.metadata.std.tolist()}

    @property
    def tile_size(self) -> int:
        return self.metadata.tile_size

    @property
    def overlap(self) -> int:
        return self.metadata.overlap

    @property
    def resolution(self) -> Optional[tuple[float, float]]:
        return self.metadata.resolution

    @property
    def ignore_index(self) -> int:
        return self.metadata.ignore_index

    @property
    def provider(self) -> str:
        return self._session.get_providers()[0]

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        """Logits float32 [N, classes, H, W] for raw pixels float32 [N, in_channels, H, W]."""
        if pixels.ndim != 4 or pixels.shape[1] != self.in_channels:
            raise ValueError(f"expected [N, {self.in_channels}, H, W] pixels, got shape {pixels.shape}")
        mean = self.metadata.mean[None, :, None, None]
        std = self.metadata.std[None, :, None, None]
        normalised = ((pixels - mean) / std).astype(np.float32, copy=False)
        (logits,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: normalised})
        expected = (pixels.shape[0], self.num_classes, *pixels.shape[2:])
        if logits.shape != expected:
            raise UserError(f"{self.path}: the model returned logits of shape {list(logits.shape)}, "
                            f"expected {list(expected)} for its {self.num_classes} classes")
        return np.asarray(logits, dtype=np.float32)


def _create_session(path: Path, device: str, threads: Optional[int]) -> ort.InferenceSession:
    cuda_available = CUDA_PROVIDER in ort.get_available_providers()
    if device == "cuda" and not cuda_available:
        raise UserError("device 'cuda' was asked for, but this onnxruntime has no CUDA support; "
                        "install onnxruntime-gpu or use device 'cpu'")
    use_cuda = device in ("auto", "cuda") and cuda_available
    providers = [CUDA_PROVIDER, CPU_PROVIDER] if use_cuda else [CPU_PROVIDER]
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: provider fallbacks are reported below instead
    if threads:
        options.intra_op_num_threads = int(threads)
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime's errors derive from Exception only
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a readable ONNX model ({reason})") from None
    if device == "cuda" and CUDA_PROVIDER not in session.get_providers():
        raise UserError(f"{path}: onnxruntime could not start CUDA (drivers or CUDA/cuDNN libraries missing?); "
                        "use device 'cpu' or 'auto'")
    return session


def _read_metadata(session: ort.InferenceSession, path: Path) -> ModelMetadata:
    props = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in props:
        raise UserError(f"{path}: no '{METADATA_KEY}' metadata; export the model with noisyseg")
    try:
        raw = json.loads(props[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: '{METADATA_KEY}' metadata is not valid JSON ({exc.msg})") from None
    try:
        return _parse_metadata(raw)
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UserError(f"{path}: invalid '{METADATA_KEY}' metadata: {detail}") from None


def _parse_metadata(raw: Any) -> ModelMetadata:
    if not isinstance(raw, dict) or raw.get("format") != METADATA_FORMAT:
        raise ValueError(f"format is not {METADATA_FORMAT!r}")
    version = raw.get("format_version")
    if not isinstance(version, int) or version > METADATA_VERSION:
        raise ValueError(f"format_version {version!r} is not supported (this version reads up to {METADATA_VERSION})")

    classes = [_parse_class(entry) for entry in raw["classes"]]
    if not classes or [cls["id"] for cls in classes] != list(range(len(classes))):
        raise ValueError("class ids must be contiguous from 0")

    in_channels = _positive_int(raw["in_channels"], "in_channels")
    mean = np.asarray(raw["normalization"]["mean"], dtype=np.float32)
    std = np.asarray(raw["normalization"]["std"], dtype=np.float32)
    if mean.shape != (in_channels,) or std.shape != (in_channels,):
        raise ValueError(f"normalization mean and std need {in_channels} values each")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
        raise ValueError("normalization mean must be finite and std positive")

    tile_size = _positive_int(raw["tile_size"], "tile_size")
    overlap = int(raw.get("overlap", 0))
    if not 0 <= overlap < tile_size:
        raise ValueError(f"overlap {overlap} must be in [0, tile_size)")

    resolution = raw.get("resolution")
    if resolution is not None:
        resolution = (float(resolution[0]), float(resolution[1]))
    return ModelMetadata(
        classes=classes, in_channels=in_channels, mean=mean, std=std, tile_size=tile_size,
        overlap=overlap, resolution=resolution, units=raw.get("units"),
        ignore_index=int(raw.get("ignore_index", 255)), bands=list(raw.get("bands") or []), raw=raw,
    )


def _parse_class(entry: Any) -> dict:
    if not isinstance(entry, dict):
        raise ValueError(f"class entry {entry!r} is not an object")
    color = str(entry.get("color", ""))
    if not _HEX_COLOR.match(color):
        raise ValueError(f"class colour {color!r} is not of the form #rrggbb")
    values = [str(value) for value in entry.get("values") or []]
    return {"id": int(entry["id"]), "name": str(entry["name"]), "color": color.lower(), "values": values}


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _check_graph_signature(session: ort.InferenceSession, path: Path, in_channels: int) -> None:
    inputs = {node.name: node for node in session.get_inputs()}
    outputs = {node.name for node in session.get_outputs()}
    if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
        raise UserError(f"{path}: the graph needs an input '{INPUT_NAME}' and an output '{OUTPUT_NAME}'")
    shape = inputs[INPUT_NAME].shape
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != in_channels):
        raise UserError(f"{path}: input '{INPUT_NAME}' has shape {shape}; the metadata says [N, {in_channels}, H, W]")
