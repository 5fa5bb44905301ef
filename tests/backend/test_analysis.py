"""Layer-wise KL analysis (noisyseg analyze) on tiny models and real tiles of the Denmark scene."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from qgis_noisyseg.backend.analysis import (
    METRICS,
    RunningMoments,
    analyze,
    format_table,
    gaussian_kl,
    histogram_kl,
    symmetric_gaussian_kl,
    symmetric_histogram_kl,
)
from qgis_noisyseg.backend.checkpoint import save_checkpoint
from qgis_noisyseg.backend.models import build_model, named_blocks
from tests.conftest import assert_user_error

BLOCKS = ["encoder.stem", "encoder.layer1", "encoder.layer2", "encoder.layer3", "encoder.layer4",
          "decoder.block1", "decoder.block2", "decoder.block3", "decoder.block4", "decoder.block5", "head"]


@pytest.fixture(scope="session")
def dataset(denmark_2016):
    return denmark_2016


def tiny_checkpoint(path, dataset, seed=0, decoder="unet", noisy_block=None):
    """A base-width-8 model initialised with ``seed``; with ``noisy_block``, Gaussian noise of the
    kernels' own std is added to that block's kernels."""
    stats = json.loads((dataset / "manifest.json").read_text())["band_stats"]
    config = {"encoder": "resnet18", "decoder": decoder, "in_channels": 3, "num_classes": 7, "base_width": 8,
              "normalization": {"mean": stats["mean"], "std": stats["std"]}}
    torch.manual_seed(seed)
    model = build_model(config)
    if noisy_block is not None:
        generator = torch.Generator().manual_seed(123)
        with torch.no_grad():
            for p in model.get_submodule(noisy_block).parameters():
                if p.ndim >= 2:
                    p.add_(torch.randn(p.shape, generator=generator) * p.std())
    save_checkpoint(path, model.state_dict(), config)
    return path


def by_block(result):
    return {row["block"]: row for row in result["blocks"]}


def test_gaussian_kl_matches_a_hand_computation():
    # KL(N(0,1) || N(1,4)) = ln 2 + (1 + 1) / 8 - 1/2; the reverse: ln(1/2) + (4 + 1) / 2 - 1/2.
    assert gaussian_kl(0.0, 1.0, 1.0, 2.0) == pytest.approx(math.log(2) - 0.25, abs=1e-12)
    assert gaussian_kl(1.0, 2.0, 0.0, 1.0) == pytest.approx(2.0 - math.log(2), abs=1e-12)
    assert symmetric_gaussian_kl(0.0, 1.0, 1.0, 2.0) == pytest.approx(0.875, abs=1e-12)
    assert gaussian_kl(3.0, 0.5, 3.0, 0.5) == 0.0


def test_histogram_kl_matches_a_hand_computation_and_stays_finite_on_empty_bins():
    # p = (1/2, 1/2), q = (1/4, 3/4): KL(p||q) = 1/2 ln 2 + 1/2 ln(2/3).
    assert histogram_kl(np.array([1, 1]), np.array([1, 3]), epsilon=0.0) == pytest.approx(
        0.5 * math.log(2) + 0.5 * math.log(2 / 3), abs=1e-12)
    disjoint = symmetric_histogram_kl(np.array([5, 0]), np.array([0, 5]))
    assert math.isfinite(disjoint) and disjoint > 10


def test_running_moments_over_batches_equal_numpy_over_all_values():
    values = np.random.default_rng(0).normal(3.0, 2.0, size=10_000)
    moments = RunningMoments()
    for chunk in np.array_split(values, 7):
        moments.add(torch.from_numpy(chunk))
    assert moments.mean == pytest.approx(values.mean(), abs=1e-10)
    assert moments.std == pytest.approx(values.std(), abs=1e-10)
    assert (moments.minimum, moments.maximum) == (values.min(), values.max())


def test_identical_models_have_zero_kl_for_weights_and_activations(dataset, tmp_path):
    a = tiny_checkpoint(tmp_path / "a.pt", dataset, seed=0)
    b = tiny_checkpoint(tmp_path / "b.pt", dataset, seed=0)
    result = analyze(a, b, dataset, tmp_path / "out", tiles=4)
    assert [row["block"] for row in result["blocks"]] == BLOCKS
    for row in result["blocks"]:
        for metric in (*METRICS, "weight_rel_l2"):
            assert row[metric] == pytest.approx(0.0, abs=1e-12), (row["block"], metric)


@pytest.mark.parametrize("noisy_block", ["encoder.stem", "encoder.layer3", "decoder.block2", "head"])
def test_noise_in_one_block_gives_the_largest_kl_in_that_block(dataset, tmp_path, noisy_block):
    a = tiny_checkpoint(tmp_path / "a.pt", dataset, seed=0)
    b = tiny_checkpoint(tmp_path / "b.pt", dataset, seed=0, noisy_block=noisy_block)
    rows = by_block(analyze(a, b, dataset, tmp_path / "out", tiles=4))
    # Noise of the kernels' own std moves them by about their own norm.
    assert rows[noisy_block]["weight_rel_l2"] == pytest.approx(1.0, abs=0.2)
    for metric in ("weight_kl_hist", "weight_kl_gauss", "weight_rel_l2"):
        assert rows[noisy_block][metric] > 0.01, metric
        for name, row in rows.items():
            if name != noisy_block:
                assert row[metric] == pytest.approx(0.0, abs=1e-12), (name, metric)
    upstream = BLOCKS[:BLOCKS.index(noisy_block)]
    for metric in ("activation_kl_hist", "activation_kl_gauss"):
        assert rows[noisy_block][metric] > 1e-4, metric
        for name in upstream:
            assert rows[name][metric] == pytest.approx(0.0, abs=1e-12), (name, metric)


def test_cli_writes_layers_json_and_png_with_the_baseline(dataset, tmp_path, run_cli):
    a = tiny_checkpoint(tmp_path / "a.pt", dataset, seed=0)
    b = tiny_checkpoint(tmp_path / "b.pt", dataset, seed=0, noisy_block="decoder.block3")
    a2 = tiny_checkpoint(tmp_path / "a2.pt", dataset, seed=1)
    b2 = tiny_checkpoint(tmp_path / "b2.pt", dataset, seed=2)
    out = tmp_path / "analysis"
    result = run_cli("analyze", "--a", a, "--b", b, "--data", dataset, "--out", out,
                     "--baseline", f"{a2},{b2}", "--tiles", "4", "--bins", "50", "--json")
    assert result.code == 0, result.err
    done = result.events()[-1]
    assert done["event"] == "done" and done["outputs"]["layers_json"] == str(out / "layers.json")
    assert (out / "layers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    layers = json.loads((out / "layers.json").read_text())
    assert layers["kl"].startswith("symmetric") and layers["bins"] == 50 and len(layers["tiles"]) == 4
    rows = by_block(layers)
    assert list(rows) == BLOCKS
    assert {rows[name]["part"] for name in BLOCKS} == {"encoder", "decoder", "head"}
    for row in rows.values():
        for metric in METRICS:
            assert row[f"baseline_{metric}"] > 0, (row["block"], metric)  # seeds 1 and 2 differ everywhere
            assert row[f"ratio_{metric}"] == pytest.approx(row[metric] / row[f"baseline_{metric}"])
    assert rows["encoder.stem"]["ratio_weight_kl_gauss"] == 0.0
    assert layers["summary"]["decoder"]["weight_kl_gauss"] > layers["summary"]["encoder"]["weight_kl_gauss"] == 0.0
    table = format_table(layers)
    assert len(table.splitlines()) == 2 + len(BLOCKS) + 2 and "| decoder.block3 | decoder |" in table


def test_cli_refuses_models_of_different_architectures_and_writes_nothing(dataset, tmp_path, run_cli):
    a = tiny_checkpoint(tmp_path / "a.pt", dataset, decoder="unet")
    b = tiny_checkpoint(tmp_path / "b.pt", dataset, decoder="fpn")
    before = set(tmp_path.iterdir())
    result = run_cli("analyze", "--a", a, "--b", b, "--data", dataset, "--out", tmp_path / "analysis")
    assert_user_error(result, "differ in architecture", "decoder unet vs fpn")
    assert set(tmp_path.iterdir()) == before
    result = run_cli("analyze", "--a", a, "--b", a, "--data", dataset, "--out", tmp_path / "analysis",
                     "--baseline", f"{a},{b}")
    assert_user_error(result, "differ in architecture")
    assert set(tmp_path.iterdir()) == before


def test_cli_one_line_errors_for_bad_inputs(dataset, tmp_path, run_cli):
    a = tiny_checkpoint(tmp_path / "a.pt", dataset)
    common = ["--a", a, "--b", a, "--data", dataset]
    assert_user_error(run_cli("analyze", *common, "--out", tmp_path / "o1", "--baseline", str(a)), "--baseline takes two")
    assert_user_error(run_cli("analyze", *common, "--out", tmp_path / "o2", "--bins", "1"), "--bins")
    assert_user_error(run_cli("analyze", "--a", tmp_path / "missing.pt", "--b", a, "--data", dataset,
                              "--out", tmp_path / "o3"), "does not exist")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert_user_error(run_cli("analyze", *common, "--out", tmp_path / "taken"), "--overwrite")
    assert not any((tmp_path / name).exists() for name in ("o1", "o2", "o3"))


def test_fpn_list_blocks_get_activations(dataset, tmp_path):
    a = tiny_checkpoint(tmp_path / "a.pt", dataset, seed=0, decoder="fpn")
    b = tiny_checkpoint(tmp_path / "b.pt", dataset, seed=1, decoder="fpn")
    rows = by_block(analyze(a, b, dataset, tmp_path / "out", tiles=2))
    assert [name for name, _ in named_blocks(build_model({"encoder": "resnet18", "decoder": "fpn", "in_channels": 3,
                                                          "num_classes": 7, "base_width": 8}))] == list(rows)
    for name in ("decoder.lateral", "decoder.semantic"):
        assert rows[name]["activation_values"] > 0 and rows[name]["activation_kl_gauss"] > 0


def test_the_divergences_and_the_report_need_no_torch():
    """backend/analysis.py is split: the KLs (divergence.py, numpy only) and the table and figure
    (analysis_report.py) import without torch; only collecting activations needs it."""
    import subprocess
    import sys

    code = ("import sys; import qgis_noisyseg.backend.divergence, qgis_noisyseg.backend.analysis_report; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
