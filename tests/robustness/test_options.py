"""Nonsense numbers, grids too large for the machine, and damaged study state (issue 16).

- Every numeric option is checked where it is read, before any work: exit 2, one line naming
  the option, nothing new (the ones data loss already covers, such as ``--lr -1 --overwrite``,
  are rows of test_data_loss.py).
- An export or prediction whose grid would exceed a sane number of tiles is refused up front,
  saying the number, unless ``--force``.
- A study resumes over a damaged results.csv or unit result (the unit runs again), and refuses
  a damaged study.json in one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import rasterio

from tests.conftest import OLD_MAP
from tests.robustness.conftest import assert_one_line_error, assert_unchanged, snapshot


def export(w: Path, *extra) -> list:
    return ["export", "--image", w / "scene" / "RGB_small.tif", "--labels", w / "scene" / OLD_MAP, "--field",
            "AfgKode", "--classes", w / "scene" / "classes.json", "--tile", "64", "--out", w / "ds", *extra]


def train(w: Path, *extra) -> list:
    return ["pretrain", "--data", w / "dataset", "--out", w / "r", "--epochs", "1", "--base-width", "8", "--device",
            "cpu", *extra]


def finetune(w: Path, *extra) -> list:
    return ["finetune", "--data", w / "dataset", "--init", w / "run" / "model.pt", "--out", w / "ft", "--epochs", "1",
            "--device", "cpu", *extra]


def predict(w: Path, *extra) -> list:
    return ["predict", "--model", w / "model.onnx", "--image", w / "scene" / "RGB_small.tif", "--out", w / "p.tif",
            *extra]


def suggest(w: Path, *extra) -> list:
    return ["suggest", "--model", w / "model.onnx", "--data", w / "dataset", *extra]


def evaluate(w: Path, *extra) -> list:
    return ["evaluate", "--model", w / "run" / "model.pt", "--data", w / "dataset", "--device", "cpu", *extra]


def analyze(w: Path, *extra) -> list:
    return ["analyze", "--a", w / "run" / "model.pt", "--b", w / "run" / "model.pt", "--data", w / "dataset", "--out",
            w / "an", *extra]


def study(w: Path, *extra) -> list:
    return ["study", "label-efficiency", "--noisy", w / "dataset", "--clean", w / "dataset", "--test", w / "dataset",
            "--seeds", "1", "--inits", "scratch", "--base-width", "8", "--device", "cpu", "--out", w / "st", *extra]


@dataclass
class Option:
    id: str
    argv: Callable[[Path], list]
    message: str


OPTIONS = [
    Option("evaluate-batch-size-0", lambda w: evaluate(w, "--batch-size", "0"), "--batch-size"),
    Option("evaluate-batch-size-negative", lambda w: evaluate(w, "--batch-size", "-3"), "--batch-size"),
    Option("predict-batch-size-0", lambda w: predict(w, "--batch-size", "0"), "--batch-size"),
    Option("predict-threads-0", lambda w: predict(w, "--threads", "0"), "--threads"),
    Option("predict-extent-nan", lambda w: predict(w, "--extent", "nan", "0", "1", "1"), "--extent"),
    Option("predict-extent-inf", lambda w: predict(w, "--extent", "0", "0", "inf", "1"), "--extent"),
    Option("predict-extent-empty", lambda w: predict(w, "--extent", "5", "5", "1", "1"), "is empty"),
    Option("predict-extent-elsewhere", lambda w: predict(w, "--extent", "0", "0", "1", "1"), "does not intersect"),
    Option("predict-tile-not-multiple-of-32", lambda w: predict(w, "--tile", "33"), "multiple of 32"),
    Option("predict-overlap-negative", lambda w: predict(w, "--overlap", "-1"), "overlap -1"),
    Option("predict-overlap-a-whole-tile", lambda w: predict(w, "--overlap", "64"), "overlap 64"),
    Option("suggest-top-0", lambda w: suggest(w, "--top", "0"), "--top"),
    Option("suggest-batch-size-0", lambda w: suggest(w, "--batch-size", "0"), "--batch-size"),
    Option("suggest-threads-negative", lambda w: suggest(w, "--threads", "-1"), "--threads"),
    Option("export-tile-0", lambda w: export(w, "--tile", "0"), "--tile"),
    Option("export-stride-0", lambda w: export(w, "--stride", "0"), "--stride"),
    Option("export-stride-above-tile", lambda w: export(w, "--stride", "65"), "--stride 65"),
    Option("export-min-valid-nan", lambda w: export(w, "--min-valid", "nan"), "--min-valid"),
    Option("export-min-valid-above-1", lambda w: export(w, "--min-valid", "1.5"), "--min-valid"),
    Option("export-tile-above-image", lambda w: export(w, "--tile", "4096"), "larger than the image"),
    Option("corrupt-rate-nan", lambda w: ["corrupt", "--data", w / "dataset", "--out", w / "c", "--rate", "nan"], "rate"),
    Option("corrupt-rate-negative", lambda w: ["corrupt", "--data", w / "dataset", "--out", w / "c", "--rate", "-0.1"],
           "rate"),
    Option("corrupt-unknown-kind", lambda w: ["corrupt", "--data", w / "dataset", "--out", w / "c", "--rate", "0.2",
                                              "--kinds", "warp"], "warp"),
    Option("pretrain-lr-inf", lambda w: train(w, "--lr", "inf"), "--lr"),
    Option("pretrain-lr-0", lambda w: train(w, "--lr", "0"), "--lr"),
    Option("pretrain-weight-decay-nan", lambda w: train(w, "--weight-decay", "nan"), "--weight-decay"),
    Option("pretrain-batch-size-0", lambda w: train(w, "--batch-size", "0"), "--batch-size"),
    Option("pretrain-epochs-negative", lambda w: train(w, "--epochs", "-1"), "--epochs"),
    Option("pretrain-label-smoothing-1", lambda w: train(w, "--label-smoothing", "1"), "--label-smoothing"),
    Option("pretrain-temperature-0", lambda w: train(w, "--method", "simclr", "--temperature", "0"), "--temperature"),
    Option("pretrain-temperature-nan", lambda w: train(w, "--method", "simclr", "--temperature", "nan"), "--temperature"),
    Option("pretrain-patience-0", lambda w: train(w, "--patience", "0"), "--patience"),
    Option("pretrain-tile-size-33", lambda w: train(w, "--tile-size", "33"), "--tile-size"),
    Option("pretrain-base-width-0", lambda w: train(w, "--base-width", "0"), "--base-width"),
    Option("finetune-lr-nan", lambda w: finetune(w, "--lr", "nan"), "--lr"),
    Option("finetune-lr-negative", lambda w: finetune(w, "--lr", "-1"), "--lr"),
    Option("finetune-weight-decay-negative", lambda w: finetune(w, "--weight-decay", "-1"), "--weight-decay"),
    Option("finetune-max-tiles-0", lambda w: finetune(w, "--max-tiles", "0"), "--max-tiles"),
    Option("finetune-freeze-everything", lambda w: finetune(w, "--freeze", "encoder,decoder,head"), "nothing to train"),
    Option("finetune-freeze-unknown-block", lambda w: finetune(w, "--freeze", "layer9"), "layer9"),
    Option("analyze-tiles-0", lambda w: analyze(w, "--tiles", "0"), "--tiles"),
    Option("analyze-bins-1", lambda w: analyze(w, "--bins", "1"), "--bins"),
    Option("export-onnx-tile-33", lambda w: ["export-onnx", "--model", w / "run" / "model.pt", "--out", w / "m.onnx",
                                             "--tile", "33"], "--tile 33"),
    Option("export-onnx-overlap-negative", lambda w: ["export-onnx", "--model", w / "run" / "model.pt", "--out",
                                                      w / "m.onnx", "--overlap", "-1"], "overlap -1"),
    Option("study-k-0", lambda w: study(w, "--k", "0", "--epochs", "1"), "--k"),
    Option("study-seeds-0", lambda w: study(w, "--k", "2", "--seeds", "0", "--epochs", "1"), "--seeds"),
    Option("study-epochs-negative", lambda w: study(w, "--k", "2", "--epochs", "-1"), "--epochs"),
    Option("study-lr-nan", lambda w: study(w, "--k", "2", "--epochs", "1", "--lr", "nan"), "--lr"),
]


@pytest.mark.parametrize("case", OPTIONS, ids=[c.id for c in OPTIONS])
def test_a_nonsense_number_is_refused_before_any_work(case: Option, inputs: Path, run_cli):
    before = snapshot(inputs)
    result = run_cli(*case.argv(inputs), "--json")
    assert_one_line_error(result, case.message)
    assert_unchanged(before, snapshot(inputs))


# -- bounded grids ------------------------------------------------------------------------------


def long_thin_image(work: Path, width: int = 100_031, height: int = 32) -> Path:
    """An image ``width`` px wide and ``height`` px tall over the scene (issue 16: 88,000 files at
    --tile 1; export now takes tiles of a multiple of 32 only, so: 32 px tiles at a 1 px stride)."""
    with rasterio.open(work / "scene" / "RGB_small.tif") as src:
        profile = {**src.profile, "width": width, "height": height, "blockxsize": 256, "blockysize": 16,
                   "tiled": False}
        row = np.resize(src.read(window=((0, height), (0, src.width))), (src.count, height, width))
    path = work / "long.tif"
    profile.pop("blockxsize"), profile.pop("blockysize")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(row)
    return path


def test_an_export_of_too_many_tiles_is_refused_saying_the_number(inputs: Path, run_cli):
    image = long_thin_image(inputs)
    before = snapshot(inputs)
    result = run_cli("export", "--image", image, "--labels", inputs / "scene" / OLD_MAP, "--tile", "32", "--stride",
                     "1", "--out", inputs / "ds", "--json")
    assert_one_line_error(result, "100,000 tiles (200,000 files)", "--force")
    assert_unchanged(before, snapshot(inputs))


def test_force_lets_a_large_export_through(inputs: Path, run_cli, monkeypatch):
    """The bound is the only thing --force lifts: with the limit lowered to 10 tiles, the
    Denmark export (56 tiles at 64 px) is refused without it and done with it."""
    monkeypatch.setattr("qgis_noisyseg.core.export.MAX_TILES", 10)
    refused = run_cli(*export(inputs), "--json")
    assert_one_line_error(refused, "this export would cut 56 tiles (112 files)")
    assert not (inputs / "ds").exists()
    done = run_cli(*export(inputs, "--force"), "--json")
    assert done.code == 0, done.err
    assert done.events()[-1]["outputs"]["tiles"] == 56


def big_image(work: Path, side: int = 600) -> Path:
    with rasterio.open(work / "scene" / "RGB_small.tif") as src:
        pixels, profile = src.read(), src.profile
    path = work / "big.tif"
    with rasterio.open(path, "w", **{**profile, "width": side, "height": side}) as dst:
        dst.write(np.resize(pixels, (pixels.shape[0], side, side)))
    return path


def test_a_prediction_of_too_many_tiles_is_refused_saying_the_number(inputs: Path, run_cli):
    """A 600 x 600 image with the model's 64 px tiles overlapping by 63 (a stride of 1 px):
    537 x 537 = 288,369 tiles, more than the limit."""
    image = big_image(inputs)
    before = snapshot(inputs)
    result = run_cli("predict", "--model", inputs / "model.onnx", "--image", image, "--out", inputs / "p.tif",
                     "--overlap", "63", "--json")
    assert_one_line_error(result, "288,369 tiles", "--force")
    assert_unchanged(before, snapshot(inputs))


def test_force_lets_a_large_prediction_through(inputs: Path, run_cli, monkeypatch):
    monkeypatch.setattr("qgis_noisyseg.inference.sliding.MAX_TILES", 10)
    refused = run_cli(*predict(inputs), "--json")
    assert_one_line_error(refused, "tiles, more than 10")
    assert not (inputs / "p.tif").exists()
    done = run_cli(*predict(inputs, "--force"), "--json")
    assert done.code == 0, done.err


# -- damaged study state --------------------------------------------------------------------------


@pytest.fixture
def finished_study(inputs: Path, run_cli) -> Path:
    result = run_cli(*study(inputs, "--k", "2", "--epochs", "1"))
    assert result.code == 0, result.err
    return inputs / "st"


def test_a_damaged_study_json_is_refused_in_one_line(finished_study: Path, inputs: Path, run_cli):
    (finished_study / "study.json").write_text('{"format": "noisyseg-study", "kind": ')
    before = snapshot(inputs)
    assert_one_line_error(run_cli(*study(inputs, "--k", "2", "--epochs", "1"), "--json"), "is damaged (not JSON)",
                          "--overwrite")
    assert_unchanged(before, snapshot(inputs))


def test_a_study_json_of_the_wrong_shape_is_refused_in_one_line(finished_study: Path, inputs: Path, run_cli):
    (finished_study / "study.json").write_text('["a", "list"]')
    before = snapshot(inputs)
    assert_one_line_error(run_cli(*study(inputs, "--k", "2", "--epochs", "1"), "--json"), "is damaged")
    assert_unchanged(before, snapshot(inputs))


def test_a_damaged_unit_result_runs_the_unit_again(finished_study: Path, inputs: Path, run_cli):
    result_file = next(finished_study.glob("runs/*/result.json"))
    good = json.loads(result_file.read_text())
    result_file.write_text('{"miou": 0.4')
    result = run_cli(*study(inputs, "--k", "2", "--epochs", "1"), "--json")
    assert result.code == 0, result.err
    assert any("is damaged" in w for w in result.events()[-1]["outputs"].get("warnings", [])) or \
        any(e.get("event") == "warning" and "is damaged" in e.get("message", "") for e in result.events())
    again = json.loads(result_file.read_text())
    assert again["miou"] == pytest.approx(good["miou"], abs=1e-6) and again["run"] == good["run"]


def test_a_damaged_results_csv_is_written_again(finished_study: Path, inputs: Path, run_cli):
    csv = finished_study / "results.csv"
    good = csv.read_text()
    csv.write_bytes(b"\xff\xfe garbage,,,\n\x00")
    result = run_cli(*study(inputs, "--k", "2", "--epochs", "1"), "--json")
    assert result.code == 0, result.err
    assert csv.read_text() == good

