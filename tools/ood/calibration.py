"""Temperature scaling of a classifier's logits, and the expected calibration error (ECE)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``."""
    z = np.atleast_2d(np.asarray(logits, dtype=np.float64)) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def rescale(probabilities: np.ndarray | Sequence[float], temperature: float) -> np.ndarray:
    """Probabilities a bundle wrote, recalibrated: softmax(log p / T) equals softmax(logits / T)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    return softmax(np.log(p), temperature)[0]


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of ``labels`` under the tempered softmax."""
    p = softmax(logits, temperature)[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(p, 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] minimising the NLL, no more confident than the labels allow.

    NLL alone has no minimum when the fitting images are all classified right: it keeps sharpening
    towards T = 0, and the calibrated model would then call every unseen error certain. So the mean
    confidence is capped at the Laplace estimate of the accuracy, (correct + 1) / (n + 2): with no
    error among 50 images, a mean confidence of at most 51/52.
    """
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))
    best = grid[int(np.argmin([nll(logits, labels, t) for t in grid]))]
    fine = np.exp(np.linspace(np.log(best) - 0.05, np.log(best) + 0.05, 41))
    t = float(fine[int(np.argmin([nll(logits, labels, t) for t in fine]))])
    hits = int(np.sum(softmax(logits).argmax(axis=1) == labels))
    return _no_sharper_than(logits, t, (hits + 1) / (len(labels) + 2))


def mean_confidence(logits: np.ndarray, temperature: float) -> float:
    """Mean largest probability (falls as the temperature rises)."""
    return float(softmax(logits, temperature).max(axis=1).mean())


def _no_sharper_than(logits: np.ndarray, t: float, cap: float, high: float = 20.0) -> float:
    """``t``, raised (bisection on log T) until the mean confidence is at most ``cap``."""
    if mean_confidence(logits, t) <= cap:
        return t
    lo, hi = np.log(t), np.log(high)
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean_confidence(logits, float(np.exp(mid))) > cap else (lo, mid)
    return float(np.exp(hi))


def ece(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: confidence versus accuracy in equal-width confidence bins."""
    p = np.atleast_2d(probabilities)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    hit = (pred == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(hit[inside].mean() - conf[inside].mean())
    return float(total)
