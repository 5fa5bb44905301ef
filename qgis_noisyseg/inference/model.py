"""An exported segmentation model: an ONNX graph plus the ``noisyseg`` metadata contract.

See docs/contracts.md ("ONNX model"): input ``image`` float32 [N, bands, H, W] normalised here
with the metadata's ``(x - mean) / std``. Format version 2 (written now) has a fixed input size
H = W = tile size and a softmax output ``probabilities``; version 1 (written before) has dynamic
H and W and an output ``logits``. Both are read: ``predict_probabilities`` gives probabilities
for either, and covers an input of another size than a fixed one with windows of that size.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

# onnxruntime's telemetry, when it cannot persist its id (a user whose home folder is not
# writable), warns on stderr: one more line where a user error must be one. Off before import.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # noqa: E402

from ..core.errors import UserError
from .grid import tile_origins

METADATA_KEY = "noisyseg"
METADATA_FORMAT = "noisyseg-onnx"
METADATA_VERSION = 2  # reads 1 (dynamic size, logits) and 2 (fixed size, probabilities)
INPUT_NAME = "image"
OUTPUTS = ("logits", "probabilities")  # the output's kind is also its name in the graph
DEVICES = ("auto", "cuda", "cpu")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"

NORMALIZATION_SCHEMES = ("dataset", "image")
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
    output: str  # "logits" or "probabilities"
    raw: dict
    scheme: str = "dataset"  # "image": standardise each image by its own statistics (see ``standardised_by``)


class OnnxSegmenter:
    """Runs an exported model with onnxruntime: ``predict_batch`` takes raw pixel values."""

    def __init__(self, path: "str | Path", *, device: str = "auto", threads: Optional[int] = None) -> None:
        self.path = Path(path)
        if device not in DEVICES:
            raise UserError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
        if threads is not None and threads < 1:
            raise UserError(f"--threads must be at least 1, got {threads} (leave it out to use every core)")
        if not self.path.is_file():
            raise UserError(f"{self.path}: model file not found")
        self._session = _create_session(self.path, device, threads)
        self.metadata = _read_metadata(self._session, self.path)
        self.batch_size, self.input_size = _check_graph_signature(self._session, self.path, self.metadata)

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

    def standardised_by(self, mean, std) -> "OnnxSegmenter":
        """This model (the same session) normalising with ``mean`` and ``std``: for a model of the
        "image" scheme, the statistics of the image it predicts."""
        mean, std = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
        if mean.shape != (self.in_channels,) or std.shape != (self.in_channels,) or not np.all(std > 0):
            raise UserError(f"{self.path}: image statistics need {self.in_channels} means and positive stds")
        other = copy.copy(self)
        other.metadata = dataclasses.replace(self.metadata, mean=mean, std=std)
        return other

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

    @property
    def output(self) -> str:
        """What the graph gives: "logits" (format version 1) or "probabilities"."""
        return self.metadata.output

    def predict_probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """Class probabilities float32 [N, classes, H, W] for raw pixels float32 [N, in_channels, H, W]."""
        output = self.predict_batch(pixels)
        return output if self.output == "probabilities" else softmax(output)

    def predict_batch(self, pixels: np.ndarray) -> np.ndarray:
        """The graph's output (``self.output``: logits or probabilities) float32 [N, classes, H, W]
        for raw pixels float32 [N, in_channels, H, W]. With a fixed input size, a smaller input is
        reflect-padded to it and a larger one covered by windows of it (the last ones shifted
        back to end on the edge); with a fixed batch, the batch is run in chunks of it."""
        if pixels.ndim != 4 or pixels.shape[1] != self.in_channels:
            raise ValueError(f"expected [N, {self.in_channels}, H, W] pixels, got shape {pixels.shape}")
        mean = self.metadata.mean[None, :, None, None]
        std = self.metadata.std[None, :, None, None]
        normalised = ((pixels - mean) / std).astype(np.float32, copy=False)
        output = self._run_any_size(normalised)
        expected = (pixels.shape[0], self.num_classes, *pixels.shape[2:])
        if output.shape != expected:
            raise UserError(f"{self.path}: the model returned {self.output} of shape {list(output.shape)}, "
                            f"expected {list(expected)} for its {self.num_classes} classes")
        return np.asarray(output, dtype=np.float32)

    def _run_any_size(self, normalised: np.ndarray) -> np.ndarray:
        if self.input_size is None or normalised.shape[2:] == self.input_size:
            return self._run_any_batch(normalised)
        height, width = normalised.shape[2:]
        size_y, size_x = self.input_size
        pad_rows, pad_cols = max(0, size_y - height), max(0, size_x - width)
        if pad_rows or pad_cols:
            normalised = np.pad(normalised, ((0, 0), (0, 0), (0, pad_rows), (0, pad_cols)), mode="reflect")
        output = np.empty((normalised.shape[0], self.num_classes, *normalised.shape[2:]), dtype=np.float32)
        for row in tile_origins(normalised.shape[2], size_y, size_y):
            for col in tile_origins(normalised.shape[3], size_x, size_x):
                window = (slice(None), slice(None), slice(row, row + size_y), slice(col, col + size_x))
                output[window] = self._run_any_batch(np.ascontiguousarray(normalised[window]))
        return output[:, :, :height, :width]

    def _run_any_batch(self, normalised: np.ndarray) -> np.ndarray:
        count = normalised.shape[0]
        if self.batch_size is None or count == self.batch_size:
            (output,) = self._session.run([self.output], {INPUT_NAME: normalised})
            return np.asarray(output, dtype=np.float32)
        chunks = []
        for start in range(0, count, self.batch_size):
            chunk = normalised[start:start + self.batch_size]
            short = self.batch_size - chunk.shape[0]
            if short:  # a fixed batch: fill the last chunk with copies of its last tile
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], short, axis=0)])
            (output,) = self._session.run([self.output], {INPUT_NAME: chunk})
            chunks.append(np.asarray(output, dtype=np.float32)[:self.batch_size - short])
        return np.concatenate(chunks)


def softmax(logits: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=axis, keepdims=True)


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
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= METADATA_VERSION:
        raise ValueError(f"format_version {version!r} is not supported (this version reads 1 to {METADATA_VERSION})")
    output = raw.get("output", "logits") if version >= 2 else "logits"
    if output not in OUTPUTS:
        raise ValueError(f"output {output!r} must be one of {', '.join(OUTPUTS)}")

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
    scheme = raw["normalization"].get("scheme", "dataset")
    if scheme not in NORMALIZATION_SCHEMES:
        raise ValueError(f"normalization scheme {scheme!r} must be one of {', '.join(NORMALIZATION_SCHEMES)}")

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
        ignore_index=int(raw.get("ignore_index", 255)), bands=list(raw.get("bands") or []), output=output,
        raw=raw, scheme=scheme,
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


def _check_graph_signature(session: ort.InferenceSession, path: Path,
                           metadata: ModelMetadata) -> tuple[Optional[int], Optional[tuple[int, int]]]:
    """The graph's fixed batch size and fixed (height, width), each None when dynamic."""
    inputs = {node.name: node for node in session.get_inputs()}
    outputs = {node.name for node in session.get_outputs()}
    if INPUT_NAME not in inputs or metadata.output not in outputs:
        raise UserError(f"{path}: the graph needs an input '{INPUT_NAME}' and an output '{metadata.output}'")
    shape = inputs[INPUT_NAME].shape
    in_channels = metadata.in_channels
    if len(shape) != 4 or (_fixed(shape[1]) and shape[1] != in_channels):
        raise UserError(f"{path}: input '{INPUT_NAME}' has shape {shape}; the metadata says [N, {in_channels}, H, W]")
    batch = shape[0] if _fixed(shape[0]) and shape[0] > 0 else None
    if _fixed(shape[2]) != _fixed(shape[3]):
        raise UserError(f"{path}: input '{INPUT_NAME}' has shape {shape}; its height and width must be both fixed "
                        "or both dynamic")
    if not _fixed(shape[2]):
        return batch, None
    size = (int(shape[2]), int(shape[3]))
    if size != (metadata.tile_size, metadata.tile_size):
        raise UserError(f"{path}: the graph takes {size[0]} x {size[1]} px inputs but the metadata's tile_size is "
                        f"{metadata.tile_size}; export the model again with noisyseg export-onnx")
    return batch, size


def _fixed(dimension: Any) -> bool:
    return isinstance(dimension, int) and not isinstance(dimension, bool)
