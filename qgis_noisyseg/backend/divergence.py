"""KL divergences between two samples, numpy only (no torch): from histograms on shared bins
and in closed form between fitted Gaussians, both symmetric, and the running moments they
need. ``backend/analysis.py`` feeds them a model's weights and activations."""

from __future__ import annotations

import math

import numpy as np

EPSILON = 1e-6
_MIN_STD = 1e-12


def gaussian_kl(mean_p: float, std_p: float, mean_q: float, std_q: float) -> float:
    """KL(P||Q) in nats between the normal distributions P = N(mean_p, std_p^2) and Q."""
    std_p, std_q = max(std_p, _MIN_STD), max(std_q, _MIN_STD)
    return math.log(std_q / std_p) + (std_p**2 + (mean_p - mean_q) ** 2) / (2 * std_q**2) - 0.5


def symmetric_gaussian_kl(mean_p: float, std_p: float, mean_q: float, std_q: float) -> float:
    return 0.5 * (gaussian_kl(mean_p, std_p, mean_q, std_q) + gaussian_kl(mean_q, std_q, mean_p, std_p))


def histogram_kl(counts_p: np.ndarray, counts_q: np.ndarray, epsilon: float = EPSILON) -> float:
    """KL(P||Q) in nats between two histograms on the same bins, each smoothed with ``epsilon``
    probability per bin (so empty bins stay finite) and renormalised."""
    p, q = _smoothed(counts_p, epsilon), _smoothed(counts_q, epsilon)
    return float(np.sum(p * np.log(p / q)))


def symmetric_histogram_kl(counts_p: np.ndarray, counts_q: np.ndarray, epsilon: float = EPSILON) -> float:
    return 0.5 * (histogram_kl(counts_p, counts_q, epsilon) + histogram_kl(counts_q, counts_p, epsilon))


def _smoothed(counts: np.ndarray, epsilon: float) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    p = counts / counts.sum() + epsilon
    return p / p.sum()


class RunningMoments:
    """Count, mean, variance (Chan et al.'s parallel update, float64), minimum and maximum of
    the values seen so far."""

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0
        self.minimum, self.maximum = math.inf, -math.inf

    def add(self, values) -> None:
        """Adds an array of any shape (a CPU tensor too: it is read through numpy)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        n = values.size
        if n == 0:
            return
        batch_mean = float(values.mean())
        batch_m2 = float(((values - batch_mean) ** 2).sum())
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta**2 * self.count * n / total
        self.count = total
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))

    @property
    def std(self) -> float:
        return math.sqrt(max(self.m2 / self.count, 0.0)) if self.count else 0.0


def _histogram(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    if high <= low:  # every value equal: one populated bin
        high = low + 1.0
    return np.histogram(values, bins=bins, range=(low, high))[0].astype(np.int64)


def _compare(moments_a: RunningMoments, moments_b: RunningMoments, hist_a: np.ndarray, hist_b: np.ndarray) -> dict:
    return {
        "kl_hist": symmetric_histogram_kl(hist_a, hist_b),
        "kl_gauss": symmetric_gaussian_kl(moments_a.mean, moments_a.std, moments_b.mean, moments_b.std),
    }


def _shared_range(a: RunningMoments, b: RunningMoments) -> tuple[float, float]:
    return min(a.minimum, b.minimum), max(a.maximum, b.maximum)
