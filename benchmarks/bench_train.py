"""Training: the trainer's tiles/s against a bare torch loop, and the label-efficiency run.

Overhead: the same ResNet-18 U-Net, batch and optimizer. The bare loop steps over tensors
already in memory; the trainer reads GeoTIFF tiles through its DataLoader, augments, reports
progress and writes its checkpoints, history and curves every epoch.

Label efficiency (Denmark Sentinel-2 scene): the old incomplete parcel map (--unlabeled ignore)
is the noisy pretraining data; K clean tiles of the full 2016 map are the fine-tuning data; the
test tiles are spatially held out (same grid and split seed for both exports). Inits: scratch,
noisy, simclr, simclr+noisy. The table is reported as measured, whatever it shows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from scenes import DENMARK, mosaic_polygons, mosaic_vrt

IMAGE = DENMARK / "RGB_small.tif"
CLASSES = DENMARK / "classes.json"


def noisyseg(*args) -> dict:
    proc = subprocess.run([sys.executable, "-m", "qgis_noisyseg", *map(str, args), "--json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"noisyseg {args[0]} failed: {proc.stderr[-2000:]}")
    done = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"event": "done"')]
    return done[-1]["outputs"]


def export(work: Path, labels: Path, name: str, tile: int, stride: int) -> Path:
    out = work / name
    noisyseg("export", "--image", IMAGE, "--labels", labels, "--field", "AfgKode", "--classes", CLASSES,
             "--tile", tile, "--stride", stride, "--unlabeled", "ignore", "--overwrite", "--out", out)
    return out


def trainer_overhead(work: Path, base_width: int = 16, tile: int = 128, batch_size: int = 8, epochs: int = 4) -> dict:
    """On a 2048 x 2048 mosaic of the Denmark scene with its parcels (128 px tiles)."""
    import torch
    import torch.nn.functional as F

    from qgis_noisyseg.backend.data import TileDataset
    from qgis_noisyseg.backend.distributed import DistributedContext
    from qgis_noisyseg.backend.models import build_model
    from qgis_noisyseg.backend.run_folder import RunFolder
    from qgis_noisyseg.backend.training import Progress, SegmentationTrainer, TrainOptions
    from qgis_noisyseg.core.dataset import Dataset
    from qgis_noisyseg.core.progress import Reporter

    torch.set_num_threads(2)
    image = mosaic_vrt(work / "mosaic_2048.vrt", 2048, 2048)
    parcels = work / "parcels_2048.gpkg"
    mosaic_polygons(parcels, 2048, 2048, every=1)
    out = work / "overhead_data"
    noisyseg("export", "--image", image, "--labels", parcels, "--field", "AfgKode", "--classes", CLASSES,
             "--tile", tile, "--unlabeled", "ignore", "--overwrite", "--out", out)
    dataset = Dataset(out)
    tiles = dataset.split("train")
    stats = dataset.manifest["band_stats"]
    config = {"encoder": "resnet18", "decoder": "unet", "in_channels": 3, "num_classes": dataset.classes.num_classes,
              "base_width": base_width}
    steps = epochs * -(-len(tiles) // batch_size)

    torch.manual_seed(0)
    model = build_model(config)
    data = TileDataset(dataset, tiles, stats["mean"], stats["std"])
    images = torch.stack([data[i][0] for i in range(len(data))])
    masks = torch.stack([data[i][1] for i in range(len(data))])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        first = (step * batch_size) % len(tiles)
        x, y = images[first:first + batch_size], masks[first:first + batch_size]
        loss = F.cross_entropy(model(x), y, ignore_index=255)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    bare_s = time.perf_counter() - start

    torch.manual_seed(0)
    run = RunFolder(work / "overhead_run")
    shutil.rmtree(run.path, ignore_errors=True)
    run.path.mkdir(parents=True)
    options = TrainOptions(epochs=epochs, batch_size=batch_size)
    trainer = SegmentationTrainer(build_model(config), TileDataset(dataset, tiles, stats["mean"], stats["std"], augment=True),
                                  None, dataset.classes.num_classes, options, epochs, run, Reporter(quiet=True),
                                  torch.device("cpu"), DistributedContext.from_environment(), config,
                                  Progress("supervised"))
    start = time.perf_counter()
    trainer.fit()
    trainer_s = time.perf_counter() - start
    tiles_seen = steps * batch_size
    return {"model": f"resnet18-unet base width {base_width}", "tile_px": tile, "batch_size": batch_size,
            "steps": steps, "bare_tiles_s": round(tiles_seen / bare_s, 2), "trainer_tiles_s": round(tiles_seen / trainer_s, 2),
            "trainer_overhead": round(trainer_s / bare_s - 1, 3)}


def label_efficiency(work: Path, ks=(2, 4, 8), seeds=(0, 1, 2), base_width: int = 16, tile: int = 64,
                     pretrain_epochs: int = 30, finetune_epochs: int = 60) -> dict:
    noisy = export(work, DENMARK / "marker_small_c31bc47.shp", "noisy", tile, tile)
    clean = export(work, DENMARK / "marker2016_small.shp", "clean", tile, tile)
    common = ["--base-width", base_width, "--batch-size", 8, "--seed", 0, "--overwrite"]
    inits = {"scratch": None}
    for method in ("noisy", "simclr", "simclr+noisy"):
        run = work / f"pretrain_{method.replace('+', '_')}"
        noisyseg("pretrain", "--data", noisy, "--out", run, "--method", method, "--epochs", pretrain_epochs, *common)
        inits[method] = run / "model.pt"
    rows = []
    references = {}
    for name, init in inits.items():
        if init is not None:
            references[f"{name}, no fine-tuning"] = round(
                noisyseg("evaluate", "--model", init, "--data", clean, "--split", "test")["miou"], 4)
    all_tiles = []
    for seed in seeds:
        run = work / f"ft_scratch_all_s{seed}"
        noisyseg("finetune", "--data", clean, "--init", "none", "--out", run, "--epochs", finetune_epochs,
                 "--batch-size", 8, "--base-width", base_width, "--seed", seed, "--overwrite")
        all_tiles.append(noisyseg("evaluate", "--model", run / "model.pt", "--data", clean, "--split", "test")["miou"])
    train_tiles = sum(1 for t in json.loads((clean / "manifest.json").read_text())["tiles"] if t["split"] == "train")
    references[f"scratch, all {train_tiles} clean train tiles"] = {"mean": round(float(np.mean(all_tiles)), 4),
                                                                  "std": round(float(np.std(all_tiles)), 4)}
    for k in ks:
        for init_name, init in inits.items():
            for seed in seeds:
                run = work / f"ft_{init_name.replace('+', '_')}_k{k}_s{seed}"
                noisyseg("finetune", "--data", clean, "--init", init or "none", "--out", run, "--max-tiles", k,
                         "--epochs", finetune_epochs, "--batch-size", 4, "--base-width", base_width, "--seed", seed,
                         "--overwrite")
                metrics = noisyseg("evaluate", "--model", run / "model.pt", "--data", clean, "--split", "test")
                rows.append({"k": k, "init": init_name, "seed": seed, "miou": metrics["miou"],
                             "accuracy": metrics["overall_accuracy"]})
    table = {}
    for k in ks:
        for init_name in inits:
            scores = [r["miou"] for r in rows if r["k"] == k and r["init"] == init_name]
            table.setdefault(init_name, {})[str(k)] = {"mean": round(float(np.mean(scores)), 4),
                                                       "std": round(float(np.std(scores)), 4)}
    test_tiles = sum(1 for t in json.loads((clean / "manifest.json").read_text())["tiles"] if t["split"] == "test")
    return {"settings": {"tile_px": tile, "base_width": base_width, "pretrain_epochs": pretrain_epochs,
                         "finetune_epochs": finetune_epochs, "seeds": list(seeds), "test_tiles": test_tiles},
            "transfer": "auto (all: the class set is unchanged)", "miou": table, "references": references,
            "runs": rows}


def run(work: Path, efficiency: bool = True) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    result = {"overhead": trainer_overhead(work)}
    if efficiency:
        result["label_efficiency"] = label_efficiency(work)
    return result


def report(r: dict) -> str:
    o = r["overhead"]
    lines = [f"train: {o['model']}, {o['tile_px']} px tiles, batch {o['batch_size']}, {o['steps']} steps",
             f"  bare torch loop  {o['bare_tiles_s']:7.2f} tiles/s",
             f"  noisyseg trainer {o['trainer_tiles_s']:7.2f} tiles/s   overhead {o['trainer_overhead']:+.1%}"]
    if "label_efficiency" in r:
        e = r["label_efficiency"]
        ks = list(next(iter(e["miou"].values())))
        lines.append(f"  label efficiency, Denmark, test mIoU (mean ± std over seeds {e['settings']['seeds']}, "
                     f"{e['settings']['test_tiles']} held-out test tiles):")
        lines.append("    " + f"{'init':<14}" + "".join(f"{'K=' + k:>16}" for k in ks))
        for init, by_k in e["miou"].items():
            lines.append("    " + f"{init:<14}" + "".join(f"{by_k[k]['mean']:>9.3f} ± {by_k[k]['std']:.3f}" for k in ks))
        for name, value in e.get("references", {}).items():
            shown = f"{value['mean']:.3f} ± {value['std']:.3f}" if isinstance(value, dict) else f"{value:.3f}"
            lines.append(f"    reference: {name}: {shown}")
    return "\n".join(lines)
