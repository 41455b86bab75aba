"""Fit, store and apply a fingerprint: per-group Mahalanobis distances, calibrated on held-out images.

Fitting splits the images: three in four give each group's mean and shrunk covariance, the fourth
gives the distances that an image of the same kind reaches. A group's threshold is the 99th
percentile of those held-out distances; an image's ratio to it says how unusual the group is.
Verdict from the largest ratio: ``in`` up to 1, ``borderline`` up to ``OUT_RATIO``, ``out`` above.
The in-distribution score is the share of held-out images at least as unusual (1 = typical).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from mimir.tools.ood.features import GROUPS

FILE = "fingerprint.json"
#: Largest ratio (distance over the group's held-out 99th percentile) still called borderline.
OUT_RATIO = 1.5
#: Shrinkage of each covariance towards its diagonal, and the floor of every variance.
SHRINK, VAR_FLOOR = 0.2, 1e-4
REASONS = {
    "features": "features far from training images",
    "intensity": "intensity histogram unlike training",
    "noise": "noise or texture unlike training",
    "geometry": "image size or shape unlike training",
}


class GroupStats(BaseModel):
    """Mean, precision matrix and held-out threshold of one group."""

    mean: list[float]
    precision: list[list[float]]
    threshold: float


class Fingerprint(BaseModel):
    """What a bundle's fitted images look like, and (classifiers) the temperature of its logits."""

    bundle: str
    version: str = ""
    images: int = Field(description="Images fitted on (three quarters) and held out (one quarter)")
    groups: dict[str, GroupStats]
    held_out_ratios: list[float] = Field(description="Largest group ratio of each held-out image, sorted")
    temperature: float | None = None
    calibration: dict[str, float] = Field(default_factory=dict)

    def ratios(self, measured: dict[str, np.ndarray]) -> dict[str, float]:
        """Each group's distance over its threshold."""
        return {g: _distance(measured[g], s) / s.threshold for g, s in self.groups.items()}

    def score(self, ratio: float) -> float:
        """Share of held-out images at least as unusual as ``ratio`` (1 = typical, 0 = beyond all)."""
        held = np.asarray(self.held_out_ratios)
        return float((1 + np.sum(held >= ratio)) / (1 + len(held))) if ratio > 0 else 1.0


def _distance(x: np.ndarray, s: GroupStats) -> float:
    d = np.asarray(x, dtype=np.float64) - np.asarray(s.mean)
    return float(np.sqrt(max(d @ np.asarray(s.precision) @ d, 0.0)))


def _stats(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = rows.mean(axis=0)
    cov = np.atleast_2d(np.cov(rows, rowvar=False))
    var = np.maximum(np.diag(cov), VAR_FLOOR)
    shrunk = (1 - SHRINK) * cov + SHRINK * np.diag(var) + VAR_FLOOR * np.eye(len(var))
    return mean, np.linalg.pinv(shrunk)


def fit(bundle: str, version: str, measured: list[dict[str, np.ndarray]], percentile: float = 99.0) -> Fingerprint:
    """A fingerprint from the numbers of at least 20 images (every fourth is held out)."""
    if len(measured) < 20:
        raise ValueError(f"a fingerprint needs at least 20 images; got {len(measured)}")
    held = [m for i, m in enumerate(measured) if i % 4 == 3]
    used = [m for i, m in enumerate(measured) if i % 4 != 3]
    groups: dict[str, GroupStats] = {}
    for g in GROUPS:
        mean, precision = _stats(np.stack([m[g] for m in used]))
        stats = GroupStats(mean=mean.tolist(), precision=precision.tolist(), threshold=1.0)
        dists = [_distance(m[g], stats) for m in held]
        stats.threshold = max(float(np.percentile(dists, percentile)), 1e-6)
        groups[g] = stats
    fp = Fingerprint(bundle=bundle, version=version, images=len(measured), groups=groups, held_out_ratios=[])
    fp.held_out_ratios = sorted(max(fp.ratios(m).values()) for m in held)
    return fp


def save(fp: Fingerprint, bundle_root: Path) -> Path:
    """Write ``models/fingerprint.json`` into the bundle."""
    path = Path(bundle_root) / "models" / FILE
    path.write_text(json.dumps(fp.model_dump(mode="json"), separators=(",", ":")) + "\n")
    return path


def load(bundle_root: Path) -> Fingerprint | None:
    """The bundle's fingerprint, or None when it has none."""
    path = Path(bundle_root) / "models" / FILE
    return Fingerprint.model_validate_json(path.read_text()) if path.is_file() else None
