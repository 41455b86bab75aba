"""Plans of chest-radiograph and mammography patients: findings per visit, verified on the images.

Chest radiographs (modelled on MS-CXR-T): one finding per patient that worsens, stays stable or
improves over 2-4 visits; each visit is PA or AP. Mammograms (modelled on EMBED): yearly screening
visits with a mass or calcification cluster that appears, grows, stays stable or shrinks (or none).

Every step is clear-cut on the area the images show (the label drawn with the film's own geometry):
worsening / enlarging at least +45 %, stable within 5 % (6 % for breast lesions, averaged over CC
and MLO), improving at most -31 %. Chest plans are constructed from target areas
(:mod:`mimir.demo.chest_plan`); mammography plans are redrawn until they are clear-cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from mimir.demo.chest_findings import FINDINGS, Finding
from mimir.demo.chest_plan import GROWTH_MIN, SHRINK_MAX
from mimir.demo.mammo import MammoSubject
from mimir.demo.mammo_anatomy import MG_PIXEL_MM
from mimir.demo.mammo_lesions import Lesion, LesionKind, Morphology, draw_lesion
from mimir.demo.patient_plan import FAMILY_NAMES, GIVEN_NAMES, PatientPlan
from mimir.demo.truth import Change, Kind, Trajectory

CXR_TRAJECTORIES: tuple[Trajectory, ...] = ("progressing", "improving", "stable")
MG_TRAJECTORIES: tuple[Trajectory, ...] = ("new_mass", "stable_benign", "growing_calcification", "resolving", "negative")
BREAST_STABLE = 0.06
#: BI-RADS-style assessment categories (the wording used in questions).
BIRADS = {0: "needs additional imaging evaluation", 1: "negative", 2: "benign", 3: "probably benign",
          4: "suspicious", 5: "highly suggestive of malignancy", 6: "known biopsy-proven malignancy"}


def chest_kind(seed: int, rank: int) -> tuple[Finding, Trajectory]:
    """Finding and trajectory of the ``rank``-th chest patient.

    Both cycle with the rank; their lengths (5 findings, 3 trajectories) share no factor, so any 15
    consecutive chest patients of a seed meet every finding with every trajectory once.
    """
    return FINDINGS[(rank + seed) % len(FINDINGS)], CXR_TRAJECTORIES[(rank + seed) % len(CXR_TRAJECTORIES)]


@dataclass
class MammoPlan:
    """A mammography patient's lesion per visit (None when none is visible), areas, changes and BI-RADS."""

    side: str
    lesions: list[Lesion | None]
    areas: list[float]
    changes: list[Change | None]
    birads: list[int]


def mammo_kind(seed: int, rank: int) -> Trajectory:
    """Trajectory of the ``rank``-th mammography patient."""
    return MG_TRAJECTORIES[(rank + seed) % len(MG_TRAJECTORIES)]


def _lesion_sizes(rng: np.random.Generator, trajectory: Trajectory, n: int) -> tuple[LesionKind, Morphology, list[float]]:
    if trajectory == "new_mass":
        appear = int(rng.integers(1, n))  # absent at baseline, then growing
        size = float(rng.uniform(7.0, 11.0))
        return "mass", "suspicious", [0.0 if v < appear else size * float(rng.uniform(1.3, 1.45)) ** (v - appear) for v in range(n)]
    if trajectory == "growing_calcification":
        size = float(rng.uniform(8.0, 12.0))
        return "calcification", "suspicious", [size * float(rng.uniform(1.3, 1.45)) ** v for v in range(n)]
    if trajectory == "resolving":
        size = float(rng.uniform(16.0, 24.0))
        return "mass", "benign", [size * float(rng.uniform(0.72, 0.78)) ** v for v in range(n)]
    kind: LesionKind = "mass" if rng.random() < 0.5 else "calcification"
    size = float(rng.uniform(8.0, 16.0))
    return kind, "benign", [size * float(rng.uniform(0.998, 1.002)) for _ in range(n)]


def _breast_area(subject: MammoSubject, side: str, lesion: Lesion | None) -> float:
    if lesion is None:
        return 0.0
    areas = [float(draw_lesion(subject.views[(side, v)], lesion, v)[1].sum()) for v in ("CC", "MLO")]
    return float(np.mean(areas)) * MG_PIXEL_MM**2


def _mammo_change(before: float, after: float) -> Change | None:
    if before == 0.0:
        return "new" if after > 0 else "stable"
    ratio = after / before
    if ratio >= GROWTH_MIN:
        return "progressing"
    if ratio <= SHRINK_MAX:
        return "improving"
    return "stable" if abs(ratio - 1.0) <= BREAST_STABLE else None


_EXPECTED: dict[str, set[str]] = {"stable_benign": {"stable"}, "resolving": {"improving"}, "negative": {"stable"},
                                  "growing_calcification": {"progressing"}, "new_mass": {"stable", "new", "progressing"}}


def birads_category(lesion: Lesion | None, change: Change | None, seen_before: bool) -> int:
    """The simulation's assessment rule: no lesion 1; benign 3 when first seen, then 2; suspicious 4, or 5 if >= 10 mm or growing."""
    if lesion is None:
        return 1
    if lesion.morphology == "benign":
        return 2 if seen_before else 3
    return 5 if lesion.size_mm >= 10.0 or change == "progressing" else 4


def plan_mammo(rng: np.random.Generator, subject: MammoSubject, trajectory: Trajectory, n: int,
               attempts: int = 24) -> MammoPlan | None:
    """Lesions for ``n`` yearly visits whose every step is clear-cut (None if none found)."""
    side = "R" if rng.random() < 0.5 else "L"
    for _ in range(attempts):
        lesions: list[Lesion | None] = [None] * n
        if trajectory != "negative":
            kind, morphology, sizes = _lesion_sizes(rng, trajectory, n)
            where = dict(depth=float(rng.uniform(0.25, 0.75)), angle=float(rng.uniform(0, 2 * np.pi)),
                         radius=float(rng.uniform(0.0, 0.6)), seed=int(rng.integers(2**31)))
            lesions = [Lesion(kind=kind, morphology=morphology, size_mm=s, **where) if s > 0 else None for s in sizes]  # type: ignore[arg-type]
        areas = [_breast_area(subject, side, le) for le in lesions]
        changes: list[Change | None] = [None] + [_mammo_change(a, b) for a, b in zip(areas, areas[1:], strict=False)]
        visible = all((a > 0) == (le is not None) for a, le in zip(areas, lesions, strict=True))
        steady = trajectory != "stable_benign" or max(abs(a / areas[0] - 1.0) for a in areas) <= BREAST_STABLE
        if visible and steady and all(c in _EXPECTED[trajectory] for c in changes[1:]):
            seen = [any(areas[:v]) for v in range(n)]
            birads = [birads_category(le, c, s) for le, c, s in zip(lesions, changes, seen, strict=True)]
            return MammoPlan(side, lesions, areas, changes, birads)
    return None


def xr_identity(rng: np.random.Generator, seed: int, index: int, kind: Kind, trajectory: Trajectory) -> PatientPlan:
    """Patient id, name, birth date, sex and visit dates of a chest or mammography patient.

    Chest: 2-4 visits 1-60 days apart. Mammography: a woman of 40-74 at baseline, 2-4 screening
    visits 11-14 months apart.
    """
    n = int(rng.integers(2, 5))
    start = date(2014, 1, 6) + timedelta(days=int(rng.integers(0, 2800)))
    gaps = rng.integers(1, 61, size=n - 1) if kind == "cxr" else rng.integers(335, 426, size=n - 1)
    dates = [start] + [start + timedelta(days=int(d)) for d in np.cumsum(gaps)]
    age_days = int(rng.uniform(40.0, 75.0) * 365.25) if kind == "mg" else int(rng.uniform(25.0, 90.0) * 365.25)
    sex = "F" if kind == "mg" or rng.random() < 0.5 else "M"
    return PatientPlan(
        index=index, patient_id=f"DEMO-{seed % 1000:03d}-{index:04d}",
        patient_name=f"{FAMILY_NAMES[int(rng.integers(10))]}^{GIVEN_NAMES[int(rng.integers(10))]}",
        birth_date=start - timedelta(days=age_days), sex=sex, kind=kind, trajectory=trajectory, dates=dates,
    )


def age_at(birth: date, when: date) -> float:
    """Age in years with one decimal, as EMBED's questions give it."""
    return round((when - birth).days / 365.25, 1)
