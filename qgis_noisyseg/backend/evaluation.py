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
