"""The noise-robust losses: what they reduce to, ignore and class weights, and `--loss` end to end."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from qgis_noisyseg.backend.losses import BOOTSTRAP_BETA, LOSSES, REVERSE_LOG_ZERO, segmentation_loss
from qgis_noisyseg.spec.choices import LOSSES as LOSS_NAMES


def sample(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 3, 4, 4, generator=generator)
    masks = torch.randint(0, 3, (2, 4, 4), generator=generator)
    masks[0, 0, :] = 255
    return logits, masks


def test_the_cli_offers_every_loss():
    assert LOSS_NAMES == LOSSES


def test_ce_is_cross_entropy_with_its_options():
    logits, masks = sample()
    weight = torch.tensor([0.5, 1.0, 2.0])
    assert torch.allclose(segmentation_loss("ce", logits, masks, weight, 255, 0.1),
                          F.cross_entropy(logits, masks, weight=weight, ignore_index=255, label_smoothing=0.1))


def test_sce_adds_the_bounded_reverse_cross_entropy():
    logits, masks = sample()
    valid = masks != 255
    p_label = F.softmax(logits, 1).gather(1, masks.clamp(max=2).unsqueeze(1)).squeeze(1)
    expected = F.cross_entropy(logits, masks, ignore_index=255) + (-REVERSE_LOG_ZERO * (1 - p_label))[valid].mean()
    assert torch.allclose(segmentation_loss("sce", logits, masks), expected)
    confident_wrong = torch.full((1, 3, 1, 1), -50.0)
    confident_wrong[0, 0] = 50.0
    wrong_label = torch.ones(1, 1, 1, dtype=torch.long)
    reverse = segmentation_loss("sce", confident_wrong, wrong_label) - segmentation_loss("ce", confident_wrong, wrong_label)
    assert reverse.item() == pytest.approx(-REVERSE_LOG_ZERO)  # at most 4, however wrong the label


def test_bootstrap_is_ce_where_the_model_agrees_and_mixes_in_its_prediction_elsewhere():
    logits, _ = sample()
    agreeing = logits.argmax(1)
    assert torch.allclose(segmentation_loss("bootstrap", logits, agreeing), F.cross_entropy(logits, agreeing))
    other = (agreeing + 1) % 3
    log_probs = F.log_softmax(logits, 1)
    expected = -(BOOTSTRAP_BETA * log_probs.gather(1, other.unsqueeze(1)) +
                 (1 - BOOTSTRAP_BETA) * log_probs.gather(1, agreeing.unsqueeze(1))).mean()
    assert torch.allclose(segmentation_loss("bootstrap", logits, other), expected)


@pytest.mark.parametrize("name", ["sce", "bootstrap"])
def test_ignored_pixels_and_class_weights(name):
    logits, masks = sample()
    kept = masks.clone()
    kept[1] = 255
    changed = logits.clone()
    changed[1] += 10 * torch.randn_like(changed[1])
    assert torch.allclose(segmentation_loss(name, logits, kept), segmentation_loss(name, changed, kept))
    only_class_1 = torch.where(masks == 1, masks, torch.full_like(masks, 255))
    weight = torch.tensor([0.0, 1.0, 0.0])
    assert torch.allclose(segmentation_loss(name, logits, masks, weight), segmentation_loss(name, logits, only_class_1))
    logits.requires_grad_(True)
    segmentation_loss(name, logits, masks, weight).backward()
    assert torch.isfinite(logits.grad).all()


def test_pretrain_with_a_robust_loss_records_it(tmp_path):
    from qgis_noisyseg.cli import main
    from qgis_noisyseg.core.export import export_dataset
    from qgis_noisyseg.core.progress import Reporter
    from tests.conftest import DENMARK

    data = tmp_path / "noisy"
    export_dataset(DENMARK / "RGB_small.tif", [str(DENMARK / "marker_small_c31bc47.shp")], data, field="AfgKode",
                   classes=DENMARK / "classes.json", tile=64, reporter=Reporter(quiet=True))
    assert main(["pretrain", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1", "--base-width", "8",
                 "--loss", "bootstrap", "--device", "cpu"]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["training"]["loss"] == "bootstrap"
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == 1 and history[0]["loss"] > 0
