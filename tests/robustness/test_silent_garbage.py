"""Silent garbage: no command may exit 0 with a result that means nothing (issue 11).

A row either expects exit 2 with one line and nothing new under the work folder, or, where the
case has a valid meaning (NaN pixels are nodata, a resumed run keeps its own settings), checks
that the result is right.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from tests.conftest import DENMARK, OLD_MAP
from tests.robustness.conftest import (Refused, assert_one_line_error, assert_unchanged, check_refused, snapshot,
                                      tiny_training_args)


def nan_checkpoint(work: Path) -> Path:
    checkpoint = torch.load(work / "run" / "model.pt", weights_only=True)
    name = next(k for k, v in checkpoint["state_dict"].items() if v.is_floating_point())
    checkpoint["state_dict"][name] = torch.full_like(checkpoint["state_dict"][name], float("nan"))
    torch.save(checkpoint, work / "nan.pt")
    return work / "nan.pt"


def rewrite_masks(dataset: Path, value: int = 255, keep_histograms: bool = False) -> None:
    """Every mask of ``dataset`` set to ``value``; the manifest's histograms follow, unless
    ``keep_histograms`` (a manifest that lies about its masks)."""
    manifest = json.loads((dataset / "manifest.json").read_text())
    for tile in manifest["tiles"]:
        with rasterio.open(dataset / tile["mask"], "r+") as dst:
            dst.write(np.full((dst.height, dst.width), value, dtype=np.uint8), 1)
        if not keep_histograms:
            tile["class_histogram"] = {} if value == 255 else {str(value): 64 * 64}
    (dataset / "manifest.json").write_text(json.dumps(manifest))


def fewer_classes(work: Path) -> Path:
    """A copy of the dataset with its classes cut to background + two (masks remapped)."""
    target = work / "three"
    shutil.copytree(work / "dataset", target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["classes"] = manifest["classes"][:3]
    for tile in manifest["tiles"]:
        with rasterio.open(target / tile["mask"], "r+") as dst:
            mask = dst.read(1)
            mask[(mask > 2) & (mask != 255)] = 0
            dst.write(mask, 1)
        tile["class_histogram"] = {k: v for k, v in tile["class_histogram"].items() if int(k) <= 2}
    (target / "manifest.json").write_text(json.dumps(manifest))
    (target / "classes.json").write_text(json.dumps({"classes": manifest["classes"]}))
    return target


def odd_image(work: Path, dtype: str) -> Path:
    path = work / f"{dtype}.tif"
    with rasterio.open(DENMARK / "RGB_small.tif") as src:
        profile = {**src.profile, "dtype": dtype}
        data = src.read().astype(dtype)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def predict(work: Path, image=None, *extra) -> list:
    return ["predict", "--model", work / "model.onnx", "--image", image or work / "scene" / "RGB_small.tif",
            "--out", work / "p.tif", *extra]


REFUSED = [
    Refused("lr-1e6-diverges", lambda w: tiny_training_args(w / "dataset", w / "diverged", "--lr", "1e6", "--epochs", "3"),
            "training diverged at epoch"),
    Refused("export-onnx-nan-model", lambda w: ["export-onnx", "--model", w / "nan.pt", "--out", w / "nan.onnx"],
            "non-finite weights", nan_checkpoint),
    Refused("evaluate-nan-model", lambda w: ["evaluate", "--model", w / "nan.pt", "--data", w / "dataset"],
            "non-finite weights", nan_checkpoint),
    Refused("finetune-from-nan-model", lambda w: ["finetune", "--data", w / "dataset", "--init", w / "nan.pt", "--out",
                                                  w / "ft", "--epochs", "1"], "non-finite weights", nan_checkpoint),
    Refused("simclr-batch-1", lambda w: tiny_training_args(w / "dataset", w / "s", "--method", "simclr",
                                                           "--batch-size", "1"), "--batch-size 1"),
    Refused("simclr+noisy-batch-1", lambda w: tiny_training_args(w / "dataset", w / "s", "--method", "simclr+noisy",
                                                                 "--batch-size", "1"), "--batch-size 1"),
    Refused("pretrain-all-ignore", lambda w: tiny_training_args(w / "dataset", w / "r"), "no labelled pixels",
            lambda w: rewrite_masks(w / "dataset")),
    Refused("finetune-all-ignore", lambda w: ["finetune", "--data", w / "dataset", "--init", "none", "--out", w / "r",
                                              "--epochs", "1", "--base-width", "8"], "no labelled pixels",
            lambda w: rewrite_masks(w / "dataset")),
    Refused("pretrain-masks-lie-about-labels", lambda w: tiny_training_args(w / "dataset", w / "r"), "no labelled pixel",
            lambda w: rewrite_masks(w / "dataset", keep_histograms=True)),
    Refused("transfer-all-across-class-sets", lambda w: ["finetune", "--data", w / "three", "--init",
                                                         w / "run" / "model.pt", "--transfer", "all", "--out", w / "ft",
                                                         "--epochs", "1"], "--transfer all copies the head",
            fewer_classes),
    Refused("resume-with-another-method", lambda w: tiny_training_args(w / "dataset", w / "run", "--resume", "--method",
                                                                       "simclr"), "--method"),
    Refused("resume-with-another-loss", lambda w: tiny_training_args(w / "dataset", w / "run", "--resume", "--loss",
                                                                     "sce"), "--loss"),
    Refused("resume-on-another-dataset", lambda w: tiny_training_args(w / "three", w / "run", "--resume"),
            "changed since", fewer_classes),
    *[Refused(f"predict-{dtype}-image", lambda w, dtype=dtype: predict(w, w / f"{dtype}.tif"), f"data type {dtype}",
              lambda w, dtype=dtype: odd_image(w, dtype)) for dtype in ("int8", "float64", "uint32", "complex64")],
    Refused("predict-disagreement-field-checked-first",
            lambda w: predict(w, None, "--disagreement-with", w / "scene" / OLD_MAP, "--disagreement-field", "NoSuch"),
            "NoSuch"),
    Refused("predict-disagreement-map-missing",
            lambda w: predict(w, None, "--disagreement-with", w / "scene" / "missing.shp"), "does not exist"),
    Refused("predict-nodata-does-not-fit", lambda w: predict(w, None, "--nodata", "-5"), "does not fit"),
    Refused("export-nodata-not-a-number", lambda w: ["export", "--image", w / "scene" / "RGB_small.tif", "--labels",
                                                     w / "scene" / OLD_MAP, "--tile", "64", "--nodata", "dark",
                                                     "--out", w / "ds2"], "not a number"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_refused_in_one_line(case: Refused, inputs: Path, run_cli):
    check_refused(case, inputs, run_cli)


def test_a_resumed_run_keeps_its_own_settings(inputs: Path, run_cli):
    """--resume without --lr continues at the run's 3e-4, not the default 1e-3, and the config says so;
    --epochs may grow the run."""
    out = inputs / "slow"
    assert run_cli(*tiny_training_args(inputs / "dataset", out, "--lr", "3e-4", "--seed", "5")).code == 0
    assert run_cli(*tiny_training_args(inputs / "dataset", out, "--resume", "--epochs", "2")).code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["lr"] == 3e-4 and config["training"]["seed"] == 5 and config["training"]["epochs"] == 2
    assert [h["epoch"] for h in config["history"]] == [1, 2]
    lines = (out / "command.txt").read_text().splitlines()
    assert len(lines) == 2 and "--lr 3e-4" in lines[0] and "--resume" in lines[1]


def test_nan_pixels_train_and_predict_as_nodata(inputs: Path, run_cli, tmp_path):
    """A float image with NaN and infinity: the dataset's statistics are finite, training stays
    finite, and prediction gives those pixels the nodata class."""
    with rasterio.open(inputs / "scene" / "RGB_small.tif") as src:
        pixels, profile = src.read().astype(np.float32), src.profile
    pixels[:, 50:150, 40:300] = np.nan
    pixels[2, 200:220, 200:220] = np.inf
    image = inputs / "nan.tif"
    with rasterio.open(image, "w", **{**profile, "dtype": "float32"}) as dst:
        dst.write(pixels)
    assert run_cli("export", "--image", image, "--labels", inputs / "scene" / OLD_MAP, "--field", "AfgKode", "--classes",
                   inputs / "scene" / "classes.json", "--tile", "64", "--out", inputs / "nan_ds").code == 0
    result = run_cli(*tiny_training_args(inputs / "nan_ds", inputs / "nan_run", "--epochs", "2"), "--json")
    assert result.code == 0, result.err
    done = result.events()[-1]["outputs"]
    assert np.isfinite(done["final_loss"])
    assert run_cli("export-onnx", "--model", inputs / "nan_run" / "model.pt", "--out", inputs / "nan.onnx").code == 0
    assert run_cli("predict", "--model", inputs / "nan.onnx", "--image", image, "--out", inputs / "nan_p.tif").code == 0
    with rasterio.open(inputs / "nan_p.tif") as p:
        np.testing.assert_array_equal(p.read(1) == 255, ~np.isfinite(pixels).all(axis=0))


def test_a_study_refuses_a_dataset_swapped_in_at_the_same_path(inputs: Path, run_cli):
    args = ["study", "label-efficiency", "--noisy", inputs / "dataset", "--clean", inputs / "dataset", "--test",
            inputs / "dataset", "--k", "2", "--seeds", "1", "--inits", "scratch", "--epochs", "1", "--base-width", "8",
            "--device", "cpu", "--out", inputs / "study"]
    assert run_cli(*args).code == 0
    swapped = fewer_classes(inputs)
    shutil.rmtree(inputs / "dataset")
    swapped.rename(inputs / "dataset")
    before = snapshot(inputs / "study")
    assert_one_line_error(run_cli(*args, "--json"), "changed since")
    assert_unchanged(before, snapshot(inputs / "study"))
