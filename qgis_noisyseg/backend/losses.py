"""Per-pixel segmentation losses, with the noise-robust ones used for training on noisy labels.

- ``ce``: cross-entropy (optional label smoothing and class weights).
- ``sce``: symmetric cross-entropy (Wang et al., ICCV 2019): CE plus reverse CE, the
  cross-entropy of the label under the prediction with log 0 clipped to ``A = -4``, which for a
  one-hot label is ``-A * (1 - p_label)``: bounded, so a wrong label cannot pull without limit.
- ``bootstrap``: hard bootstrapping (Reed et al., ICLR 2015 workshop): the target is ``beta``
  times the label plus ``1 - beta`` times the model's own current prediction (argmax, no
  gradient), so a confident model partly overrules the labels it disagrees with.
- ``ce+dice``: cross-entropy plus the soft Dice loss, one minus the mean Dice over the classes
  labelled in the batch, so that a class's overlap counts whatever its pixel share (class
  weights weight the cross-entropy only).
- ``confident``: cross-entropy on the pixels the model finds most plausible only, a one-modality
  version of CromSS's sample selection (Liu et al., TGRS 2025): within each labelled class of
  the batch, the ``CONFIDENT_KEEP`` share of its pixels with the highest predicted probability of
  their label (no gradient through the choice); the rest count for nothing in that step.

Pixels labelled ``ignore_index`` count for nothing. Class weights weight each pixel by its
label's class, and the mean is over those weights, as ``F.cross_entropy`` does.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

LOSSES = ("ce", "sce", "bootstrap", "ce+dice", "confident")
REVERSE_LOG_ZERO = -4.0
BOOTSTRAP_BETA = 0.8
CONFIDENT_KEEP = 0.7
DICE_EPS = 1.0


def segmentation_loss(name: str, logits: torch.Tensor, masks: torch.Tensor, weight: Optional[torch.Tensor] = None,
                      ignore_index: int = 255, label_smoothing: float = 0.0) -> torch.Tensor:
    """``logits`` ``[N, C, H, W]``, ``masks`` ``[N, H, W]`` int64; a scalar loss."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}")

    def cross_entropy() -> torch.Tensor:  # only for the losses that use it: it costs a pass over the batch
        return F.cross_entropy(logits, masks, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing)

    if name == "ce":
        return cross_entropy()
    valid = masks != ignore_index
    labels = torch.where(valid, masks, torch.zeros_like(masks))
    pixel_weight = valid.float() if weight is None else weight[labels] * valid
    total = pixel_weight.sum().clamp_min(1e-12)
    log_probs = F.log_softmax(logits, dim=1)
    if name == "ce+dice":
        return cross_entropy() + _dice_loss(log_probs.exp(), labels, valid)
    nll_label = -log_probs.gather(1, labels.unsqueeze(1)).squeeze(1)
    if name == "sce":
        reverse = -REVERSE_LOG_ZERO * (1.0 - (-nll_label).exp())
        return cross_entropy() + (reverse * pixel_weight).sum() / total
    if name == "bootstrap":
        predicted = log_probs.detach().argmax(dim=1, keepdim=True)
        nll_predicted = -log_probs.gather(1, predicted).squeeze(1)
        per_pixel = BOOTSTRAP_BETA * nll_label + (1.0 - BOOTSTRAP_BETA) * nll_predicted
        return (per_pixel * pixel_weight).sum() / total
    kept = pixel_weight * _most_plausible(nll_label.detach(), labels, valid)  # confident
    return (nll_label * kept).sum() / kept.sum().clamp_min(1e-12)


def _dice_loss(probs: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """1 - mean soft Dice over the classes with a labelled pixel in the batch."""
    onehot = F.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype) * valid.unsqueeze(1)
    probs = probs * valid.unsqueeze(1)
    intersection = (probs * onehot).sum(dim=(0, 2, 3))
    sizes = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    present = onehot.sum(dim=(0, 2, 3)) > 0
    if not present.any():
        return probs.sum() * 0.0
    dice = (2.0 * intersection + DICE_EPS) / (sizes + DICE_EPS)
    return 1.0 - dice[present].mean()


def _most_plausible(nll: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """A 0/1 mask: per labelled class, the ``CONFIDENT_KEEP`` share of its pixels with the lowest
    negative log-likelihood of their label (at least one pixel per class)."""
    kept = torch.zeros_like(nll)
    for label in labels[valid].unique():
        in_class = valid & (labels == label)
        values = nll[in_class]
        count = max(1, int(round(CONFIDENT_KEEP * values.numel())))
        threshold = values.kthvalue(count).values
        kept[in_class & (nll <= threshold)] = 1.0
    return kept
