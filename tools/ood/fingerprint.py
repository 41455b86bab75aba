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
#: A larger variance floor where a group's numbers have a natural tolerance: image sizes (log pixels
#: per side, log aspect ratio) within about 10 % are the same field of view, even when every fitted
#: image had one size.
GROUP_VAR_FLOOR = {"geometry": float(np.log(1.1)) ** 2}
#: Smallest threshold of a group: one floored standard deviation. When every held-out image has the
#: same numbers (one image size), the 99th percentile is 0 and any difference would read as "out".
THRESHOLD_FLOOR = 1.0
REASONS = {
    "features": "features far from training images",
    "intensity": "intensity histogram unlike training",
    "noise": "noise or texture unlike training",
    "geometry": "image size or shape unlike training",
    "layout": "anatomy placed or turned unlike training",
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
    source: str = Field(default="", description="What the images were, in words (seed, folder)")
    kinds: dict[str, int] = Field(default_factory=dict, description="Fitted files per format (DCM, PNG...)")
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


def _stats(rows: np.ndarray, floor: float = VAR_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    mean = rows.mean(axis=0)
    cov = np.atleast_2d(np.cov(rows, rowvar=False))
    var = np.maximum(np.diag(cov), floor)
    shrunk = (1 - SHRINK) * cov + SHRINK * np.diag(var) + floor * np.eye(len(var))
    return mean, np.linalg.pinv(shrunk)


def fit(bundle: str, version: str, measured: list[dict[str, np.ndarray]], percentile: float = 99.0,
        groups: list[str] | None = None) -> Fingerprint:
    """A fingerprint from the numbers of at least 20 images.

    One in four is held out: every fourth image, or with ``groups`` (a patient or picture per image)
    every image of every fourth group, so that no held-out image has a twin (another file of the same
    picture, another slice of the same patient) among the fitted ones.
    """
    if len(measured) < 20:
        raise ValueError(f"a fingerprint needs at least 20 images; got {len(measured)}")
    held_mask = _held_out(len(measured), groups)
    held = [m for m, h in zip(measured, held_mask, strict=True) if h]
    used = [m for m, h in zip(measured, held_mask, strict=True) if not h]
    stats_by_group: dict[str, GroupStats] = {}
    for g in GROUPS:
        mean, precision = _stats(np.stack([m[g] for m in used]), GROUP_VAR_FLOOR.get(g, VAR_FLOOR))
        stats = GroupStats(mean=mean.tolist(), precision=precision.tolist(), threshold=1.0)
        dists = [_distance(m[g], stats) for m in held]
        stats.threshold = max(float(np.percentile(dists, percentile)), THRESHOLD_FLOOR)
        stats_by_group[g] = stats
    fp = Fingerprint(bundle=bundle, version=version, images=len(measured), groups=stats_by_group, held_out_ratios=[])
    fp.held_out_ratios = sorted(max(fp.ratios(m).values()) for m in held)
    return fp


def _held_out(n: int, groups: list[str] | None) -> list[bool]:
    """Which images are held out: every fourth image, or every fourth group (when there are 8 or more)."""
    if groups is not None and len(set(groups)) >= 8:
        order = {g: i for i, g in enumerate(sorted(set(groups)))}
        mask = [order[g] % 4 == 3 for g in groups]
        if 5 <= sum(mask) <= n - 15:
            return mask
    return [i % 4 == 3 for i in range(n)]


def save(fp: Fingerprint, bundle_root: Path) -> Path:
    """Write ``models/fingerprint.json`` into the bundle."""
    path = Path(bundle_root) / "models" / FILE
    path.write_text(json.dumps(fp.model_dump(mode="json"), separators=(",", ":")) + "\n")
    return path


def load(bundle_root: Path) -> Fingerprint | None:
    """The bundle's fingerprint, or None when it has none."""
    path = Path(bundle_root) / "models" / FILE
    return Fingerprint.model_validate_json(path.read_text()) if path.is_file() else None
