"""The demo's scene (the bundled Denmark Sentinel-2 fields), its two settings (full and
quick), and the helpers that read it: copying the inputs, burning a map, the model's classes."""

from __future__ import annotations

import json
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

BUNDLED_DATA = Path(__file__).resolve().parents[2] / "data"
SCENE = "denmark_s2_fields"
IMAGE = "RGB_small.tif"
OLD_MAP = "marker_small_c31bc47.shp"
MAP_2016 = "marker2016_small.shp"
CLASSES = "classes.json"
FIELD = "AfgKode"
RGB_BANDS = (3, 2, 1)  # the image's band order is B, G, R (data/README.md)


@dataclass(frozen=True)
class DemoSettings:
    base_width: int
    pretrain_epochs: int
    finetune_epochs: int
    ks: tuple[int, ...]
    seeds: tuple[int, ...]
    baseline_seeds: tuple[int, int] = (0, 1)
    pretrain_batch_size: int = 8
    finetune_batch_size: int = 4
    analysis_tiles: int = 16
    analysis_bins: int = 100


FULL = DemoSettings(base_width=16, pretrain_epochs=30, finetune_epochs=60, ks=(2, 8), seeds=(0, 1, 2))
QUICK = DemoSettings(base_width=8, pretrain_epochs=2, finetune_epochs=2, ks=(2, 4), seeds=(0,),
                     analysis_tiles=4, analysis_bins=20)


def copy_inputs(scene: Path, inputs: Path) -> dict:
    """The image, both maps and the class map, copied so that the project and the report need
    nothing outside the output folder."""
    inputs.mkdir(parents=True)
    for name in (IMAGE, CLASSES):
        shutil.copy2(scene / name, inputs / name)
    for shapefile in (OLD_MAP, MAP_2016):
        for part in scene.glob(f"{Path(shapefile).stem}.*"):
            shutil.copy2(part, inputs / part.name)
    return {"image": inputs / IMAGE, "old_map": inputs / OLD_MAP, "map_2016": inputs / MAP_2016,
            "classes": inputs / CLASSES}


def burn_map(labels: Path, image: Path, classes: Path):
    """The map's classes burned onto the image's whole grid, as export burns them (255 where
    it says nothing)."""
    import numpy as np
    import rasterio

    from ..core.classes import IGNORE, ClassMap
    from ..core.labels import open_label_source

    with rasterio.open(image) as src:
        source = open_label_source(str(labels), src.crs, tuple(src.bounds), field=FIELD, encoding=None,
                                   all_touched=False)
        source.bind(ClassMap.load(classes))
        mask = np.full((src.height, src.width), IGNORE, dtype=np.uint8)
        source.burn(mask, src.transform, tuple(src.bounds))
    return mask


def model_classes(onnx: Path) -> list[dict]:
    """The classes the exported model carries in its metadata (what predict styles with)."""
    from ..inference import OnnxSegmenter

    return OnnxSegmenter(onnx, device="cpu").classes


def read_history(run: Path) -> list[dict]:
    return json.loads((run / "history.json").read_text(encoding="utf-8"))


def rel(path: "str | Path", root: Path) -> str:
    return os.path.relpath(path, root)


def machine(device: str) -> dict:
    import torch

    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "device": device, "gpu": gpu}
