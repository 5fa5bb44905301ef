"""The noise-robust losses: what they reduce to, ignore and class weights, and `--loss` end to end."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from qgis_noisyseg.backend.losses import (BOOTSTRAP_BETA, CONFIDENT_KEEP, DICE_EPS, LOSSES, REVERSE_LOG_ZERO,
                                          segmentation_loss)
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


def test_ce_dice_adds_one_minus_the_mean_dice_of_the_labelled_classes():
    logits, masks = sample()
    valid = masks != 255
    probs = F.softmax(logits, 1)
    dices = []
    for c in (0, 1, 2):
        truth = (masks == c) & valid
        p = probs[:, c][valid]
        dices.append((2 * p[truth[valid]].sum() + DICE_EPS) / (p.sum() + truth.sum() + DICE_EPS))
    expected = F.cross_entropy(logits, masks, ignore_index=255) + 1 - torch.stack(dices).mean()
    assert torch.allclose(segmentation_loss("ce+dice", logits, masks), expected)
    only_class_0 = torch.where(masks == 0, masks, torch.full_like(masks, 255))  # classes 1 and 2 absent: not averaged
    truth = only_class_0 == 0
    p = probs[:, 0][truth]
    dice_0 = (2 * p.sum() + DICE_EPS) / (p.sum() + truth.sum() + DICE_EPS)
    assert torch.allclose(segmentation_loss("ce+dice", logits, only_class_0),
                          F.cross_entropy(logits, only_class_0, ignore_index=255) + 1 - dice_0)
    perfect = torch.full((1, 2, 4, 4), -30.0)
    perfect[0, 0, :2] = perfect[0, 1, 2:] = 30.0
    labels = torch.zeros(1, 4, 4, dtype=torch.long)
    labels[0, 2:] = 1
    assert segmentation_loss("ce+dice", perfect, labels).item() == pytest.approx(0.0, abs=1e-6)


def test_confident_keeps_the_most_plausible_share_of_each_class():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(1, 2, 10, 10, generator=generator)
    masks = torch.zeros(1, 10, 10, dtype=torch.long)
    masks[0, :3] = 1  # 30 pixels of class 1, 70 of class 0
    nll = -F.log_softmax(logits, 1).gather(1, masks.unsqueeze(1)).squeeze(1)
    kept = []
    for c, count in ((0, 70), (1, 30)):
        values = nll[masks == c].sort().values
        kept.append(values[:round(CONFIDENT_KEEP * count)])  # the lowest losses of each class, not of the whole batch
    expected = torch.cat(kept).mean()
    assert torch.allclose(segmentation_loss("confident", logits, masks), expected)
    assert segmentation_loss("confident", logits, masks) < segmentation_loss("ce", logits, masks)
    one_pixel = torch.full((1, 10, 10), 255, dtype=torch.long)
    one_pixel[0, 0, 0] = 1  # a class with one pixel keeps it
    assert torch.allclose(segmentation_loss("confident", logits, one_pixel), nll[0, 0, 0] * 0 + F.cross_entropy(
        logits, one_pixel, ignore_index=255))


@pytest.mark.parametrize("name", LOSSES)
def test_ignored_pixels_count_for_nothing(name):
    logits, masks = sample()
    kept = masks.clone()
    kept[1] = 255
    changed = logits.clone()
    changed[1] += 10 * torch.randn_like(changed[1])
    assert torch.allclose(segmentation_loss(name, logits, kept), segmentation_loss(name, changed, kept))
    assert not torch.allclose(segmentation_loss(name, logits, masks), segmentation_loss(name, changed, masks))


@pytest.mark.parametrize("name", ["sce", "bootstrap", "confident"])
def test_class_weights_weight_each_pixel_by_its_label(name):
    """(ce+dice weights its cross-entropy only: Dice already balances the classes.)"""
    logits, masks = sample()
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
