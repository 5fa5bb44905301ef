"""Confusion matrices of a segmentation model over a loader."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..core.metrics import confusion_matrix


@torch.no_grad()
def predict_confusion(model: nn.Module, loader: DataLoader, num_classes: int, device: torch.device,
                      ignore_index: int = 255) -> np.ndarray:
    was_training = model.training
    model.eval()
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for images, masks in loader:
        pred = model(images.to(device)).argmax(dim=1).cpu().numpy()
        cm += confusion_matrix(pred, masks.numpy(), num_classes, ignore_index)
    model.train(was_training)
    return cm


@torch.no_grad()
def predict_confusion_per_tile(model: nn.Module, loader: DataLoader, num_classes: int, device: torch.device,
                               ignore_index: int = 255) -> np.ndarray:
    """``[tiles, num_classes, num_classes]``: one confusion matrix per tile, in the loader's order
    (which must not shuffle); their sum is ``predict_confusion``'s."""
    was_training = model.training
    model.eval()
    matrices = []
    for images, masks in loader:
        pred = model(images.to(device)).argmax(dim=1).cpu().numpy()
        for tile_pred, tile_mask in zip(pred, masks.numpy()):
            matrices.append(confusion_matrix(tile_pred, tile_mask, num_classes, ignore_index))
    model.train(was_training)
    return np.stack(matrices) if matrices else np.zeros((0, num_classes, num_classes), dtype=np.int64)
