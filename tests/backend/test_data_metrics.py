import numpy as np
import pytest
import torch

from qgis_noisyseg.backend.data import class_weights, flip_and_turn, labelled_pixels, select_tiles
from qgis_noisyseg.core.dataset import class_pixels
from qgis_noisyseg.core.errors import UserError
from qgis_noisyseg.core.metrics import confusion_matrix, f1_per_class, iou_per_class, miou, overall_accuracy, summarize


def test_confusion_matrix_ignores_255_and_metrics_follow():
    target = np.array([0, 0, 1, 1, 255, 2])
    pred = np.array([0, 1, 1, 1, 2, 2])
    cm = confusion_matrix(pred, target, num_classes=4)
    assert cm.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert np.allclose(iou_per_class(cm)[:3], [0.5, 2 / 3, 1.0]) and np.isnan(iou_per_class(cm)[3])
    assert np.allclose(f1_per_class(cm)[:3], [2 / 3, 0.8, 1.0])
    assert miou(cm) == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert overall_accuracy(cm) == pytest.approx(0.8)
    assert summarize(cm, ["a", "b", "c", "d"])["excluded_from_miou"] == ["d"]


def test_flip_and_turn_moves_image_and_mask_together():
    torch.manual_seed(0)
    mask = torch.arange(16).reshape(4, 4)
    image = torch.stack([mask.float(), -mask.float()])
    for _ in range(10):
        aug_image, aug_mask = flip_and_turn(image, mask)
        assert torch.equal(aug_image[0].long(), aug_mask) and torch.equal(aug_image[1].long(), -aug_mask)


def test_select_tiles_is_reproducible_and_checked():
    tiles = [{"id": f"t{i:02d}"} for i in range(20)]
    assert select_tiles(tiles, 5, seed=3) == select_tiles(list(reversed(tiles)), 5, seed=3)
    assert select_tiles(tiles, 5, seed=3) != select_tiles(tiles, 5, seed=4)
    with pytest.raises(UserError, match="more than the 20"):
        select_tiles(tiles, 21, seed=0)


def test_select_tiles_containing_a_class_draws_only_tiles_that_show_it():
    tiles = [{"id": f"t{i:02d}", "class_histogram": {"0": 100, **({"1": 7} if i % 4 == 0 else {})}} for i in range(20)]
    for seed in range(5):
        chosen = select_tiles(tiles, 3, seed=seed, containing=1)
        assert len(chosen) == 3 and all(t["class_histogram"].get("1") for t in chosen)
    assert [t["id"] for t in select_tiles(tiles, None, seed=0, containing=1)] == ["t00", "t04", "t08", "t12", "t16"]
    with pytest.raises(UserError, match="more than the 5 train tiles with class 1"):
        select_tiles(tiles, 6, seed=0, containing=1)
    with pytest.raises(UserError, match="no train tiles with class 2"):
        select_tiles(tiles, None, seed=0, containing=2)


def test_class_pixels_sum_the_tiles_histograms():
    tiles = [{"class_histogram": {"0": 30, "1": 10}}, {"class_histogram": {"1": 5, "4": 2}}, {}]
    assert class_pixels(tiles) == {0: 30, 1: 15, 4: 2}
    assert labelled_pixels(tiles) == 47 and class_pixels([]) == {}


def test_class_weights_are_inverse_frequency():
    weights = class_weights([{"class_histogram": {"0": 30, "1": 10}}], num_classes=3)
    assert weights.tolist() == pytest.approx([0.5, 1.5, 0.0])
