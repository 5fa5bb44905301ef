"""Issue 12: photometric augmentation, the warm-up schedule, the encoder learning rate and the
normalisation schemes, pinned by value."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qgis_noisyseg.backend.data import TileDataset, normalise, photometric_jitter
from qgis_noisyseg.backend.training import lr_factor, parameter_groups

DTYPES = {"uint8": (0, 255), "uint16": (0, 4000), "float32": (-1.5, 2.5)}


def _tile(dtype: str, bands: int, seed: int = 0):
    """A tile whose every band is a ramp of the mask (class 1 pixels brighter), some invalid."""
    rng = np.random.default_rng(seed)
    low, high = DTYPES[dtype]
    mask = (rng.random((32, 32)) < 0.4).astype(np.uint8)
    base = np.where(mask == 1, 0.6, 0.2) + 0.15 * rng.random((bands, 32, 32))
    pixels = (low + (high - low) * base).astype(dtype)
    valid = np.ones((32, 32), bool)
    valid[:4] = False
    pixels[:, :4] = 0
    return pixels, valid, mask


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("bands", [1, 3, 5])
def test_photometric_jitter_keeps_dtype_invalid_pixels_and_each_bands_order(dtype, bands):
    pixels, valid, _ = _tile(dtype, bands)
    out = photometric_jitter(pixels, valid, 0.3, np.random.default_rng(1))
    assert out.dtype == pixels.dtype and out.shape == pixels.shape
    assert np.array_equal(out[:, ~valid], pixels[:, ~valid])
    changed = 0
    for b in range(bands):
        before, after = pixels[b][valid].astype(np.float64), out[b][valid].astype(np.float64)
        order = np.argsort(before, kind="stable")
        assert np.all(np.diff(after[order]) >= 0), f"band {b}: the jitter is not monotonic"
        changed += int(np.abs(after - before).max() > 0)
    assert changed == bands  # every band gets its own jitter
    if dtype != "float32":
        info = np.iinfo(pixels.dtype)
        assert out.min() >= info.min and out.max() <= info.max


def test_photometric_jitter_per_band_draws_and_off_at_zero():
    pixels, valid, _ = _tile("uint16", 3)
    assert photometric_jitter(pixels, valid, 0.0, np.random.default_rng(1)) is pixels
    out = photometric_jitter(pixels, valid, 0.3, np.random.default_rng(1))
    ratios = [out[b][valid].astype(float).mean() / pixels[b][valid].astype(float).mean() for b in range(3)]
    assert len({round(r, 3) for r in ratios}) == 3


def test_photometric_jitter_values_pinned():
    pixels = np.array([[[0, 100], [200, 255]]], dtype=np.uint8)
    valid = np.array([[False, True], [True, True]])
    rng = np.random.default_rng(0)
    expected_rng = np.random.default_rng(0)
    gamma = math.exp(expected_rng.uniform(-0.2, 0.2, 1)[0])
    contrast = expected_rng.uniform(0.8, 1.2, 1)[0]
    gain = expected_rng.uniform(0.8, 1.2, 1)[0]
    v = 100 + 155 * ((np.array([100.0, 200.0, 255.0]) - 100) / 155) ** gamma
    v = (v.mean() + contrast * (v - v.mean())) * gain
    out = photometric_jitter(pixels, valid, 0.2, rng)
    assert out[0, 0, 0] == 0
    assert [out[0, 0, 1], out[0, 1, 0], out[0, 1, 1]] == list(np.clip(np.rint(v), 0, 255).astype(np.uint8))


class _OneTile:
    def __init__(self, pixels, valid, mask):
        self.item = (pixels, valid, mask)

    def read_tile(self, tile):
        return self.item


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("bands", [1, 3, 5])
def test_augmented_samples_keep_the_mask_aligned(dtype, bands):
    """Flips, turns and the photometric jitter together: in every sample, the class-1 pixels
    are still the brighter ones in every band, and invalid pixels still sit under ignore."""
    pixels, valid, mask = _tile(dtype, bands)
    mask = np.where(valid, mask, 255).astype(np.uint8)
    mean, std = pixels[:, valid].astype(float).mean(axis=1), pixels[:, valid].astype(float).std(axis=1)
    data = TileDataset(_OneTile(pixels, valid, mask), [{"id": 0}], mean, std, augment=True, photometric=0.3)
    torch.manual_seed(0)
    turned = 0
    for _ in range(12):
        image, target = data[0]
        assert image.dtype == torch.float32 and target.dtype == torch.int64 and image.shape == (bands, 32, 32)
        turned += int(not torch.equal(target, torch.from_numpy(mask.astype(np.int64))))
        ones, zeros = target == 1, target == 0
        for b in range(bands):
            assert image[b][ones].min() > image[b][zeros].max()
        assert torch.all(image[:, target == 255] == 0)
    assert turned > 0  # the geometric augmentation ran too


def test_photometric_needs_augment():
    pixels, valid, mask = _tile("uint8", 1)
    plain = TileDataset(_OneTile(pixels, valid, mask), [{"id": 0}], [0.0], [1.0], augment=False, photometric=0.3)
    assert torch.equal(plain[0][0], torch.from_numpy(pixels.astype(np.float32) * valid))


def test_warmup_schedule_values():
    f = lr_factor("cosine", 10, warmup=0.2)  # 2 warm-up steps, then cosine over the 8 others
    assert [round(f(s), 6) for s in (0, 1, 2, 6, 10)] == [round(1 / 3, 6), round(2 / 3, 6), 1.0, 0.5, 0.0]
    plain = lr_factor("cosine", 10)
    assert [round(plain(s), 6) for s in (0, 5, 10)] == [1.0, 0.5, 0.0]
    assert lr_factor("cosine", 10, warmup=0.01)(0) == 1.0  # rounds to no warm-up step
    one = lr_factor("onecycle", 10)
    assert [round(one(s), 6) for s in (0, 1, 3)] == [0.04, 0.36, 1.0]


def test_encoder_learning_rate_scale():
    from qgis_noisyseg.backend.models import build_model

    model = build_model({"encoder": "resnet18", "decoder": "unet", "in_channels": 1, "num_classes": 2, "base_width": 8})
    groups = parameter_groups(model, 1e-3, 0.1)
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(1e-4)]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.encoder.parameters()}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    assert len(parameter_groups(model, 1e-3, 1.0)) == 1


def test_normalisation_schemes_values():
    pixels = np.array([[[1, 3], [5, 100]]], dtype=np.uint16)
    valid = np.array([[True, True], [True, False]])
    dataset = normalise(pixels, valid, np.array([2.0])[:, None, None], np.array([2.0])[:, None, None])
    assert dataset.dtype == np.float32 and dataset.tolist() == [[[-0.5, 0.5], [1.5, 0.0]]]
    tile = normalise(pixels, valid, None, None, "tile")  # valid mean 3, std sqrt(8/3)
    s = math.sqrt(8 / 3)
    assert np.allclose(tile, [[[-2 / s, 0.0], [2 / s, 0.0]]])


def test_normalization_of_a_run_follows_its_scheme():
    from types import SimpleNamespace

    from qgis_noisyseg.commands._training import normalization_for
    from qgis_noisyseg.spec.commands import NORMALIZATION

    clean = SimpleNamespace(manifest={"band_stats": {"mean": [5.0], "std": [2.0], "pixels": 9}})
    assert NORMALIZATION == "image"  # chosen by benchmarks/bench_quality.py
    assert normalization_for(clean, "image") == {"mean": [5.0], "std": [2.0], "scheme": "image"}
    assert normalization_for(clean, "dataset") == {"mean": [5.0], "std": [2.0], "scheme": "dataset"}
    # fine-tuning a pretrained model: the dataset scheme keeps the model's statistics, the image
    # scheme takes those of the image it now trains on
    old = {"mean": [100.0], "std": [10.0]}
    assert normalization_for(clean, "dataset", old) == {"mean": [100.0], "std": [10.0], "scheme": "dataset"}
    assert normalization_for(clean, "image", {**old, "scheme": "image"}) == {"mean": [5.0], "std": [2.0],
                                                                              "scheme": "image"}


def test_encoder_lr_scale_default_and_bounds():
    from qgis_noisyseg.cli import parse_command_line

    args = parse_command_line(["finetune", "--data", "d", "--init", "none", "--out", "o"])
    assert args.encoder_lr_scale == 0.1 and args.normalization == "image" and args.photometric == 0.0
    assert args.warmup == 0.1 and args.loss == "ce"  # chosen by benchmarks/bench_quality.py
    pretrain = parse_command_line(["pretrain", "--data", "d", "--out", "o"])
    assert pretrain.warmup == 0.0 and pretrain.loss == "ce+dice"
    from qgis_noisyseg.study.settings import TrainingSettings

    assert TrainingSettings().pretrain_loss == "ce+dice"
