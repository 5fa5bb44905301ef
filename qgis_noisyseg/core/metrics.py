"""Segmentation metrics from a confusion matrix (numpy only, so core stays free of torch).

Rows of the confusion matrix are the reference class, columns the predicted class.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int, ignore: Optional[int] = 255) -> np.ndarray:
    """``[num_classes, num_classes]`` int64 counts; pixels whose target is ``ignore`` are left out."""
    pred = np.asarray(pred).ravel().astype(np.int64)
    target = np.asarray(target).ravel().astype(np.int64)
    keep = (target >= 0) & (target < num_classes)
    if ignore is not None:
        keep &= target != ignore
    pred, target = pred[keep], target[keep]
    if pred.size and (pred.min() < 0 or pred.max() >= num_classes):
        raise ValueError(f"predictions outside 0..{num_classes - 1}")
    return np.bincount(target * num_classes + pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def present_classes(cm: np.ndarray) -> np.ndarray:
    """Classes occurring in the reference or in the prediction."""
    return (cm.sum(axis=0) + cm.sum(axis=1)) > 0


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """Intersection over union per class; NaN for classes absent from reference and prediction."""
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(axis=0) + cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def f1_per_class(cm: np.ndarray) -> np.ndarray:
    """F1 (Dice) per class; NaN for classes absent from reference and prediction."""
    tp = np.diag(cm).astype(np.float64)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def miou(cm: np.ndarray) -> float:
    """Mean IoU over the classes present in reference or prediction (NaN when none is)."""
    ious = iou_per_class(cm)
    return float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")


def overall_accuracy(cm: np.ndarray) -> float:
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def summarize(cm: np.ndarray, class_names: Sequence[str]) -> dict:
    """Every metric of ``cm`` as JSON-ready values, with the classes left out of the mean."""
    ious, f1s = iou_per_class(cm), f1_per_class(cm)
    present = present_classes(cm)
    return {
        "miou": miou(cm),
        "overall_accuracy": overall_accuracy(cm),
        "per_class": [
            {"id": i, "name": name, "iou": _number(ious[i]), "f1": _number(f1s[i]),
             "pixels": int(cm[i].sum()), "predicted": int(cm[:, i].sum())}
            for i, name in enumerate(class_names)
        ],
        "excluded_from_miou": [name for name, p in zip(class_names, present) if not p],
        "confusion_matrix": cm.tolist(),
        "pixels": int(cm.sum()),
    }


def _number(value: float) -> Optional[float]:
    return None if np.isnan(value) else float(value)


# -- intervals over tiles ----------------------------------------------------------------------
# A handful of check tiles is a small sample of the image: the tiles, not the pixels, are the
# independent units (neighbouring pixels share a field, a shadow, a labelling error). The
# interval resamples whole tiles with replacement and recomputes the metric from the summed
# confusion matrices, which is how the score itself is computed.

INTERVAL_LEVEL = 0.9
BOOTSTRAP_SAMPLES = 2000

METRICS = {"miou": miou, "overall_accuracy": overall_accuracy}


def _resampled(per_tile: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """``[samples, k, k]`` summed confusion matrices of tile draws with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(per_tile), size=(samples, len(per_tile)))
    return per_tile[picks].sum(axis=1)


def _quantiles(values: np.ndarray, level: float) -> Optional[list[float]]:
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return [float(low), float(high)]


def tile_interval(per_tile: Sequence[np.ndarray], metric: str = "miou", level: float = INTERVAL_LEVEL,
                  samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> Optional[list[float]]:
    """The ``level`` percentile-bootstrap interval of ``metric`` over tiles; None with fewer
    than two tiles (one tile gives no idea of the spread)."""
    cms = np.asarray(per_tile, dtype=np.int64)
    if len(cms) < 2:
        return None
    draws = _resampled(cms, samples, seed)
    return _quantiles(np.array([METRICS[metric](cm) for cm in draws]), level)


def paired_difference(per_tile_a: Sequence[np.ndarray], per_tile_b: Sequence[np.ndarray], metric: str = "miou",
                      level: float = INTERVAL_LEVEL, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """``metric`` of model A minus model B on the same tiles, with its paired bootstrap interval
    (the same tile draws for both models). ``resolved``: the interval excludes 0, so the tiles
    tell the two models apart at this level."""
    a, b = np.asarray(per_tile_a, dtype=np.int64), np.asarray(per_tile_b, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError("the two models were scored on different tiles")
    difference = METRICS[metric](a.sum(axis=0)) - METRICS[metric](b.sum(axis=0))
    interval = None
    if len(a) >= 2:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(a), size=(samples, len(a)))
        draws = np.array([METRICS[metric](a[p].sum(axis=0)) - METRICS[metric](b[p].sum(axis=0)) for p in picks])
        interval = _quantiles(draws, level)
    resolved = interval is not None and (interval[0] > 0 or interval[1] < 0)
    return {"difference": float(difference), "interval": interval, "resolved": resolved, "level": level}
