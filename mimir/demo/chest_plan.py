"""Chest-radiograph plans constructed to be clear-cut: each visit's extent is solved from a target area.

A chest patient's finding worsens, stays stable or improves over 2-4 visits (MS-CXR-T's classes);
the simulation's truth is the area the label covers on each film, with the film's own positioning
(and, for AP, its geometry). Drawing extents at random and hoping every step lands on the right
side of the thresholds fails for some patients: a finding's area saturates as it fills its lung or
lobe (a pneumothorax is bounded by the lateral lung), so growth that looks safe in extent is not in
area. Instead a plan is built backwards from the areas it needs:

1. every visit's view and positioning is drawn first;
2. the finding's mask is drawn at a grid of extents; every film's area at each grid extent is read
   through that film's positioning (how many film pixels sample each canvas pixel);
3. target film areas are chosen with margin inside the change classes (worsening +60-80 % per step,
   improving -38-45 %, stable within 1 %), starting from the largest visit, which lies on the
   part of the curve the finding can reach; each visit's extent is the inverse of its area curve;
4. the films are drawn at those extents and measured exactly as they will be written; an extent
   whose area misses its target by more than 2 % is corrected on its measured area (up to 4 times).

Step 4's measure is the truth and is checked against the thresholds; a new positioning is drawn in
the unlikely case it fails (:data:`ATTEMPTS`), so every seed and patient has a plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mimir.demo.chest import ChestFrame, finding_area_mm2, frame_at
from mimir.demo.chest_anatomy import CANVAS, PIXEL_MM, ChestSubject, visit_map
from mimir.demo.chest_findings import ChestFinding, Finding, Lobe, draw_finding
from mimir.demo.truth import Change, Trajectory

GROWTH_MIN, SHRINK_MAX, CHEST_STABLE = 1.45, 0.69, 0.05
#: Extents at which every film's area curve is read (areas in between are interpolated in sqrt(area)).
GRID = np.array([0.02, 0.05, 0.1, 0.17, 0.26, 0.38, 0.52, 0.68, 0.84, 1.0])
#: Area factor per step chosen for each trajectory, and the extent range of the largest visit.
STEP_FACTOR = {"progressing": (1.6, 1.8), "improving": (0.55, 0.62), "stable": (0.99, 1.01)}
LARGEST_EXTENT = {"progressing": (0.7, 1.0), "improving": (0.7, 1.0), "stable": (0.4, 0.75)}
ATTEMPTS, CORRECTIONS, TOLERANCE = 6, 4, 0.02


@dataclass
class ChestPlan:
    """A chest patient's finding, per-visit state and films (with their verified areas)."""

    finding: Finding
    side: str
    findings: list[ChestFinding] = field(default_factory=list)
    frames: list[ChestFrame] = field(default_factory=list)
    areas: list[float] = field(default_factory=list)
    changes: list[Change | None] = field(default_factory=list)


def chest_change(before: float, after: float) -> Change | None:
    """Change class of a finding's area between two films (None when neither clear nor stable)."""
    ratio = after / max(before, 1e-6)
    if ratio >= GROWTH_MIN:
        return "progressing"
    if ratio <= SHRINK_MAX:
        return "improving"
    return "stable" if abs(ratio - 1.0) <= CHEST_STABLE else None


def film_weights(coords: np.ndarray) -> np.ndarray:
    """How many film pixels sample each canvas pixel (nearest neighbour, as the film's label is read)."""
    idx = np.floor(coords + 0.5).astype(np.int64)
    inside = ((idx >= 0) & (idx < CANVAS)).all(axis=0)
    flat = idx[0][inside] * CANVAS + idx[1][inside]
    return np.bincount(flat, minlength=CANVAS * CANVAS).reshape(CANVAS, CANVAS).astype(np.float32)


class _Curve:
    """A film's finding area (mm2) as a monotone function of extent, and its inverse."""

    def __init__(self, areas: np.ndarray) -> None:
        self.areas = np.maximum.accumulate(areas) + 1e-6 * np.arange(len(areas))  # strictly increasing

    def area(self, extent: float) -> float:
        return float(np.interp(extent, GRID, np.sqrt(self.areas))) ** 2

    def extent(self, area: float) -> float:
        return float(np.interp(np.sqrt(area), np.sqrt(self.areas), GRID))


def _curves(subject: ChestSubject, base: ChestFinding, weights: list[np.ndarray]) -> list[_Curve]:
    masks = [draw_finding(subject, _at(base, float(e))).mask for e in GRID]
    pixel = PIXEL_MM**2
    return [_Curve(np.array([float(w[m].sum()) * pixel for m in masks])) for w in weights]


def _at(base: ChestFinding, extent: float) -> ChestFinding:
    return ChestFinding(kind=base.kind, side=base.side, extent=extent, lobe=base.lobe, density=base.density)


def _targets(rng: np.random.Generator, trajectory: Trajectory, curves: list[_Curve]) -> list[float]:
    """Film areas per visit: the largest visit first drawn on its curve, the others by step factors."""
    n = len(curves)
    factors = [float(rng.uniform(*STEP_FACTOR[trajectory])) for _ in range(n - 1)]
    top = float(rng.uniform(*LARGEST_EXTENT[trajectory]))
    if trajectory == "progressing":  # the last visit is the largest: walk backwards
        areas = [curves[-1].area(top)]
        for f in reversed(factors):
            areas.insert(0, areas[0] / f)
        return areas
    areas = [curves[0].area(top)]
    for f in factors:
        areas.append(areas[-1] * f)
    return areas


def _film(subject: ChestSubject, base: ChestFinding, extent: float, view: str, coords: np.ndarray) -> ChestFrame:
    return frame_at(subject, _at(base, extent), view, coords)


def _solve_visit(subject: ChestSubject, base: ChestFinding, curve: _Curve, target: float, view: str,
                 coords: np.ndarray) -> tuple[float, ChestFrame]:
    """Extent and film whose finding area is within TOLERANCE of ``target`` (or the last correction's)."""
    extent = curve.extent(target)
    frame = _film(subject, base, extent, view, coords)
    for _ in range(CORRECTIONS):
        got = finding_area_mm2(frame.labels)
        if got > 0 and abs(got / target - 1.0) <= TOLERANCE:
            break
        scale = max(got, 1e-6) / max(curve.area(extent), 1e-6)  # the curve, rescaled through the measured point
        extent = min(max(curve.extent(target / scale), float(GRID[0]) / 4), 1.0)
        frame = _film(subject, base, extent, view, coords)
    return extent, frame


def _clear_cut(trajectory: Trajectory, areas: list[float]) -> list[Change | None] | None:
    changes: list[Change | None] = [None] + [chest_change(a, b) for a, b in zip(areas, areas[1:], strict=False)]
    steady = trajectory != "stable" or max(abs(a / areas[0] - 1.0) for a in areas) <= CHEST_STABLE
    ok = min(areas) > 0 and steady and all(c == trajectory for c in changes[1:])
    return changes if ok else None


def plan_chest(rng: np.random.Generator, subject: ChestSubject, finding: Finding, trajectory: Trajectory,
               n: int) -> ChestPlan | None:
    """Findings, views and films for ``n`` visits whose every step is clearly ``trajectory``.

    Returns None only if :data:`ATTEMPTS` positionings all fail the check, which the construction
    makes practically impossible (``tests/test_chest_plan.py`` builds plans over many seeds).
    """
    side = "B" if finding == "oedema" else str(rng.choice(["R", "L"]))
    lobe: Lobe = ("upper", "middle", "lower")[int(rng.integers(3))]
    base = ChestFinding(kind=finding, side=side, extent=1.0, lobe=lobe, density=float(rng.uniform(0.85, 1.15)))
    for _ in range(ATTEMPTS):
        views = ["AP" if rng.random() < 0.4 else "PA" for _ in range(n)]
        coords = [visit_map(rng, subject, v) for v in views]
        curves = _curves(subject, base, [film_weights(c) for c in coords])
        targets = _targets(rng, trajectory, curves)
        solved = [_solve_visit(subject, base, cv, t, v, c) for cv, t, v, c in zip(curves, targets, views, coords, strict=True)]
        frames = [f for _, f in solved]
        areas = [finding_area_mm2(f.labels) for f in frames]
        changes = _clear_cut(trajectory, areas)
        if changes is not None:
            return ChestPlan(finding, side, [_at(base, e) for e, _ in solved], frames, areas, changes)
    return None
