"""Tiny ONNX models and GeoTIFFs for the inference tests, built in the test itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import onnx
import rasterio
from onnx import TensorProto, helper, numpy_helper
from rasterio.transform import from_origin

CRS = "EPSG:32632"
TRANSFORM = from_origin(500000.0, 6200000.0, 10.0, 10.0)
CLASSES = [
    {"id": 0, "name": "background", "color": "#000000"},
    {"id": 1, "name": "barley", "color": "#e6c35c"},
    {"id": 2, "name": "Vårbyg & <wheat>", "color": "#4daf4a"},
]
MEAN = [100.0, 200.0, 300.0]
STD = [50.0, 60.0, 70.0]


def metadata(in_channels: int = 3, classes: list = CLASSES, tile_size: int = 64, overlap: int = 16) -> dict:
    return {
        "format": "noisyseg-onnx", "format_version": 1, "classes": classes,
        "bands": [{"index": i + 1, "name": f"b{i + 1}"} for i in range(in_channels)],
        "in_channels": in_channels,
        "normalization": {"mean": MEAN[:in_channels], "std": STD[:in_channels]},
        "tile_size": tile_size, "overlap": overlap, "resolution": [10.0, 10.0], "units": "metre",
        "ignore_index": 255, "nodata": None, "provenance": {"package_version": "test"},
    }


def conv_model(path: Path, kernel: int = 1, in_channels: int = 3, num_classes: int = 3, seed: int = 0,
               meta: Optional[dict] = None) -> Path:
    """A single Conv (``kernel`` x ``kernel``, zero padding keeping the size) from bands to logits."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(0.0, 1.0, (num_classes, in_channels, kernel, kernel)).astype(np.float32)
    bias = rng.normal(0.0, 0.5, num_classes).astype(np.float32)
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", in_channels, "H", "W"])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", num_classes, "H", "W"])
    conv = helper.make_node("Conv", ["image", "weight", "bias"], ["logits"],
                            kernel_shape=[kernel, kernel], pads=[kernel // 2] * 4)
    graph = helper.make_graph([conv], "conv", [image], [logits],
                              initializer=[numpy_helper.from_array(weight, "weight"),
                                           numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if meta is None:
        meta = metadata(in_channels, CLASSES[:num_classes])
    if meta:
        helper.set_model_props(model, {"noisyseg": json.dumps(meta)})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def smooth_image(bands: int, height: int, width: int) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    layers = [MEAN[b % 3] + STD[b % 3] * np.sin(rows / (9.0 + 4 * b) + cols / (13.0 + 3 * b)) for b in range(bands)]
    return np.stack(layers).astype(np.float32)


def noisy_image(bands: int, height: int, width: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mean = np.array([MEAN[b % 3] for b in range(bands)], dtype=np.float32)[:, None, None]
    std = np.array([STD[b % 3] for b in range(bands)], dtype=np.float32)[:, None, None]
    return (mean + std * rng.normal(size=(bands, height, width))).astype(np.float32)


def write_image(path: Path, pixels: np.ndarray, *, nodata=None, georeferenced: bool = True,
                alpha: bool = False) -> Path:
    bands, height, width = pixels.shape
    profile = dict(driver="GTiff", width=width, height=height, count=bands, dtype=pixels.dtype.name, nodata=nodata)
    if georeferenced:
        profile.update(crs=CRS, transform=TRANSFORM)
    with rasterio.open(path, "w", **profile) as dst:
        if alpha:  # before writing: GTiff fixes its ExtraSamples tag with the first block
            dst.colorinterp = [rasterio.enums.ColorInterp.gray] * (bands - 1) + [rasterio.enums.ColorInterp.alpha]
        dst.write(pixels)
    return path
