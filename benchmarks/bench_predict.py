"""Prediction: onnxruntime against torch eager on the same model, peak RSS at two raster sizes,
and throughput as the overlap grows.

Models are ResNet-18 U-Nets with random weights (speed and memory do not depend on training),
exported with `noisyseg export-onnx`. Rasters are the real Denmark Sentinel-2 chip repeated as
VRT mosaics (benchmarks/scenes.py).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from measure import peak_rss_mb
from scenes import DENMARK, mosaic_vrt

TILE = 256
NORMALIZATION = {"mean": [1016.3, 923.9, 863.4], "std": [139.8, 179.5, 328.5]}


def make_model(work: Path, base_width: int):
    import json

    import torch

    from qgis_noisyseg.backend.checkpoint import save_checkpoint
    from qgis_noisyseg.backend.models import build_model
    from qgis_noisyseg.backend.onnx_export import export_onnx

    classes = json.loads((DENMARK / "classes.json").read_text())["classes"]
    config = {"encoder": "resnet18", "decoder": "unet", "in_channels": 3, "num_classes": len(classes),
              "base_width": base_width, "classes": classes, "normalization": NORMALIZATION, "tile_size": TILE,
              "resolution": [10.0, 10.0], "units": "metre"}
    torch.manual_seed(0)
    model = build_model(config).eval()
    checkpoint = work / f"resnet18_unet_w{base_width}.pt"
    save_checkpoint(checkpoint, model.state_dict(), config)
    onnx_path = work / f"resnet18_unet_w{base_width}.onnx"
    export_onnx(checkpoint, onnx_path)
    return model, onnx_path


def eager_vs_onnxruntime(model, onnx_path: Path, batches: int = 6, batch_size: int = 4) -> dict:
    import onnxruntime as ort
    import torch

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    x = np.random.default_rng(0).normal(size=(batch_size, 3, TILE, TILE)).astype(np.float32)
    megapixels = batches * batch_size * TILE * TILE / 1e6

    with torch.inference_mode():
        model(torch.from_numpy(x))
        start = time.perf_counter()
        for _ in range(batches):
            model(torch.from_numpy(x))
        eager = megapixels / (time.perf_counter() - start)

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    session.run(None, {"image": x})
    start = time.perf_counter()
    for _ in range(batches):
        session.run(None, {"image": x})
    onnx_rate = megapixels / (time.perf_counter() - start)
    return {"torch_eager_mpix_s": round(eager, 3), "onnxruntime_mpix_s": round(onnx_rate, 3),
            "onnxruntime_over_eager": round(onnx_rate / eager, 2), "threads": threads, "batch_size": batch_size}


def overlap_sweep(onnx_path: Path, work: Path, size: int = 2048, overlaps=(0, 32, 64, 128)) -> dict:
    from qgis_noisyseg.inference import OnnxSegmenter, predict_raster

    image = mosaic_vrt(work / f"mosaic_{size}.vrt", size, size)
    segmenter = OnnxSegmenter(onnx_path, device="cpu")
    rates = {}
    for overlap in overlaps:
        out = work / f"overlap_{overlap}.tif"
        start = time.perf_counter()
        predict_raster(segmenter, image, out, tile=TILE, overlap=overlap, batch_size=4)
        rates[str(overlap)] = round(size * size / 1e6 / (time.perf_counter() - start), 3)
        out.unlink()
        out.with_suffix(".qml").unlink()
    return {"image_px": f"{size}x{size}", "mpix_s_by_overlap": rates}


def memory(onnx_path: Path, work: Path, sizes=(4096, 16384), overlap: int = 32) -> dict:
    peaks = {}
    for size in sizes:
        image = mosaic_vrt(work / f"mosaic_{size}.vrt", size, size)
        out = work / f"predict_{size}.tif"
        peaks[f"{size}x{size}"] = round(peak_rss_mb(["predict", "--model", str(onnx_path), "--image", str(image),
                                                     "--out", str(out), "--confidence", str(work / f"conf_{size}.tif"),
                                                     "--overlap", str(overlap), "--overwrite"]))
        for path in work.glob(f"*_{size}.*"):
            if path.suffix in (".tif", ".qml"):
                path.unlink()
    small, large = peaks.values()
    return {"peak_rss_mb": peaks, "peak_rss_ratio": round(large / small, 2), "overlap": overlap}


def run(work: Path, sizes=(4096, 16384)) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    model16, onnx16 = make_model(work, base_width=16)
    _, onnx8 = make_model(work, base_width=8)
    return {
        "speed": {"model": "resnet18-unet base width 16, 3 bands, 7 classes", **eager_vs_onnxruntime(model16, onnx16)},
        "overlap": {"model": "resnet18-unet base width 16", **overlap_sweep(onnx16, work)},
        "memory": {"model": "resnet18-unet base width 8", **memory(onnx8, work, sizes)},
    }


def report(r: dict) -> str:
    s, o, m = r["speed"], r["overlap"], r["memory"]
    return "\n".join([
        f"predict: {s['model']}, {TILE} px tiles, batch {s['batch_size']}, {s['threads']} threads",
        f"  torch eager   {s['torch_eager_mpix_s']:7.3f} MPix/s",
        f"  onnxruntime   {s['onnxruntime_mpix_s']:7.3f} MPix/s   ratio {s['onnxruntime_over_eager']:.2f}x",
        f"  whole-raster MPix/s by overlap ({o['image_px']}): "
        + ", ".join(f"{k} px: {v}" for k, v in o["mpix_s_by_overlap"].items()),
        f"  peak RSS ({m['model']}, overlap {m['overlap']}): "
        + ", ".join(f"{k}: {v} MB" for k, v in m["peak_rss_mb"].items()) + f"   ratio {m['peak_rss_ratio']:.2f}x",
    ])
