"""Patient plans: who each demo patient is and how their lesion evolves, verified on the anatomy.

A plan is drawn, its lesion volumes are measured on the patient's own anatomy, and it is redrawn
until every step falls clearly in its change class (progressing >= +40 %, stable within +-5 %,
improving <= -30 % whole-lesion volume; a progressing or improving step also changes the lesion's
area on the PNG slice by at least 20 %).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from mimir.demo.anatomy import VOXEL_MM
from mimir.demo.brain import BrainSubject, TumourState, labels_from_masks, tumour_masks
from mimir.demo.ct import CTSubject, HaemorrhageState, haemorrhage_mask
from mimir.demo.truth import Change, Kind, Trajectory, classify_change

#: The order patients are drawn in (the kinds a build asks for, in this order, then again).
KIND_CYCLE: tuple[Kind, ...] = ("mri", "mri", "ct", "fundus", "mri", "cxr", "mg", "cxr", "mg")
#: The kinds ``mimir demo build`` makes unless told otherwise: all of them. The first five patients of
#: a set are those of the brain, head and eye cycle alone, so a set of up to five is the same either way.
DEFAULT_KINDS: tuple[Kind, ...] = ("mri", "ct", "fundus", "cxr", "mg")
MRI_TRAJECTORIES: tuple[Trajectory, ...] = ("progressing", "resection_partial", "stable", "improving", "resection_gtr")
CT_TRAJECTORIES: tuple[Trajectory, ...] = ("progressing", "improving", "stable")
EYE_PAIRS: tuple[tuple[str, str], ...] = (
    ("diabetic retinopathy", "diabetic retinopathy"), ("normal", "AMD"), ("normal", "normal"),
    ("AMD", "AMD"), ("diabetic retinopathy", "normal"), ("AMD", "normal"),
)
GIVEN_NAMES = ("ALEX", "SAM", "ROBIN", "KIM", "JORDAN", "CASEY", "MORGAN", "TAYLOR", "JAMIE", "RILEY")
FAMILY_NAMES = ("NORD", "VALE", "BERG", "LUND", "HOLM", "STRAND", "DAHL", "FJELL", "SKOG", "AAS")
VOXEL_ML = VOXEL_MM**3 / 1000.0


@dataclass
class PatientPlan:
    """Identity and simulation parameters of one patient (before rendering)."""

    index: int
    patient_id: str
    patient_name: str
    birth_date: date
    sex: str
    kind: Kind
    trajectory: Trajectory
    dates: list[date]
    tumours: list[TumourState] = field(default_factory=list)
    bleeds: list[HaemorrhageState] = field(default_factory=list)
    eyes: dict[str, str] = field(default_factory=dict)
    changes: list[Change | None] = field(default_factory=list)


def cycle(kinds: tuple[Kind, ...] | None = None) -> tuple[Kind, ...]:
    """The kind cycle restricted to ``kinds`` (the default kinds when None)."""
    wanted = DEFAULT_KINDS if kinds is None else kinds
    known = tuple(dict.fromkeys(KIND_CYCLE))
    unknown = [k for k in wanted if k not in known]
    if unknown or not wanted:
        raise ValueError(f"unknown demo kind(s) {', '.join(map(repr, unknown)) or '(none given)'}; known: {', '.join(known)}")
    return tuple(k for k in KIND_CYCLE if k in wanted)


def kind_rank(index: int, kinds: tuple[Kind, ...] | None = None) -> int:
    """How many patients of the same kind come before patient ``index`` in the cycle."""
    order = cycle(kinds)
    block, pos = divmod(index, len(order))
    same = [i for i, k in enumerate(order) if k == order[pos]]
    return block * len(same) + same.index(pos)


def choose_kind(seed: int, index: int, kinds: tuple[Kind, ...] | None = None) -> tuple[Kind, Trajectory]:
    """Kind and trajectory of patient ``index``: a fixed cycle so small sets cover every kind."""
    from mimir.demo.plan_xr import chest_kind, mammo_kind

    order = cycle(kinds)
    kind, rank = order[index % len(order)], kind_rank(index, kinds)
    if kind == "mri":
        return kind, MRI_TRAJECTORIES[(rank + seed) % len(MRI_TRAJECTORIES)]
    if kind == "ct":
        return kind, CT_TRAJECTORIES[(rank + seed) % len(CT_TRAJECTORIES)]
    if kind == "cxr":
        return kind, chest_kind(seed, rank)[1]
    if kind == "mg":
        return kind, mammo_kind(seed, rank)
    return kind, "fundus"


def identity(rng: np.random.Generator, seed: int, index: int, kind: Kind, trajectory: Trajectory) -> PatientPlan:
    """Patient id, name, birth date, sex and visit dates."""
    n_visits = 1 if kind == "fundus" else int(rng.integers(2, 5 if kind == "mri" else 4))
    if trajectory.startswith("resection"):
        n_visits = max(n_visits, 2)
    start = date(2015, 1, 5) + timedelta(days=int(rng.integers(0, 2500)))
    dates = [start]
    for v in range(1, n_visits):
        if trajectory.startswith("resection") and v == 1:
            gap = int(rng.integers(2, 15))
        else:
            gap = int(rng.integers(14, 90)) if kind == "ct" else int(rng.integers(6, 21)) * 7
        dates.append(dates[-1] + timedelta(days=gap))
    return PatientPlan(
        index=index, patient_id=f"DEMO-{seed % 1000:03d}-{index:04d}",
        patient_name=f"{FAMILY_NAMES[int(rng.integers(10))]}^{GIVEN_NAMES[int(rng.integers(10))]}",
        birth_date=date(int(rng.integers(1940, 1995)), int(rng.integers(1, 13)), int(rng.integers(1, 29))),
        sex="F" if rng.random() < 0.5 else "M", kind=kind, trajectory=trajectory, dates=dates,
    )


def _scaled(t: TumourState, f: float) -> TumourState:
    return TumourState(t.oedema_radius_mm * f, t.enhancing_radius_mm * f, t.necrosis_radius_mm * f,
                       t.cavity_radius_mm * f, t.rim_fraction, t.rim_thickness_mm)


def draw_tumours(rng: np.random.Generator, trajectory: Trajectory, n: int) -> list[TumourState]:
    """Tumour states per visit for an MRI trajectory."""
    lo, hi = {"progressing": (10.0, 14.0), "stable": (14.0, 22.0), "improving": (20.0, 26.0)}.get(trajectory, (17.0, 24.0))
    r = rng.uniform(lo, hi)
    enh = r * rng.uniform(0.58, 0.7)
    first = TumourState(oedema_radius_mm=r, enhancing_radius_mm=enh, necrosis_radius_mm=enh * rng.uniform(0.35, 0.6))
    states = [first]
    for v in range(1, n):
        prev = states[-1]
        if trajectory == "progressing":
            states.append(_scaled(prev, rng.uniform(1.2, 1.26)))
        elif trajectory == "improving":
            states.append(_scaled(prev, rng.uniform(0.76, 0.82)))
        elif trajectory.startswith("resection") and v == 1:
            cavity = prev.enhancing_radius_mm * 0.95
            rim = 0.0 if trajectory == "resection_gtr" else rng.uniform(0.3, 0.5)
            states.append(TumourState(oedema_radius_mm=max(cavity + 5.0, prev.oedema_radius_mm * 0.85),
                                      cavity_radius_mm=cavity, rim_fraction=rim))
        else:
            states.append(_scaled(prev, rng.uniform(0.995, 1.005)))
    return states


def _measure(masks: dict[str, np.ndarray], z: int) -> dict[str, float]:
    labels = labels_from_masks(masks)
    area = VOXEL_MM**2
    return {
        "whole_ml": float((labels > 0).sum() * VOXEL_ML), "enhancing_ml": float(masks["enhancing"].sum() * VOXEL_ML),
        "necrotic_ml": float(masks["necrosis"].sum() * VOXEL_ML), "oedema_ml": float(masks["oedema"].sum() * VOXEL_ML),
        "cavity_ml": float(masks["cavity"].sum() * VOXEL_ML),
        "slice_lesion_mm2": float((labels[:, :, z] > 0).sum() * area),
        "slice_enhancing_mm2": float((labels[:, :, z] == 2).sum() * area),
    }


def measure_mri(subject: BrainSubject, tumours: list[TumourState]) -> list[dict[str, float]]:
    """Volumes (mL) and PNG-slice areas (mm2) of each visit's lesion."""
    return [_measure(tumour_masks(subject, t), subject.lesion_slice) for t in tumours]


def measure_ct(subject: CTSubject, bleeds: list[HaemorrhageState]) -> list[dict[str, float]]:
    """Haemorrhage volume (mL, as whole_ml) and PNG-slice area of each visit."""
    out = []
    for b in bleeds:
        m = haemorrhage_mask(subject, b)
        out.append({"whole_ml": float(m.sum() * VOXEL_ML),
                    "slice_lesion_mm2": float(m[:, :, subject.lesion_slice].sum() * VOXEL_MM**2)})
    return out


def step_changes(trajectory: Trajectory, measures: list[dict[str, float]]) -> list[Change | None] | None:
    """Change class per visit (None at baseline), or None when a step is not clear-cut."""
    changes: list[Change | None] = [None]
    for v in range(1, len(measures)):
        before, after = measures[v - 1], measures[v]
        if trajectory.startswith("resection") and v == 1:
            gtr = trajectory == "resection_gtr"
            ok = after["enhancing_ml"] == 0 if gtr else (after["slice_enhancing_mm2"] >= 40 and after["enhancing_ml"] <= 0.6 * before["enhancing_ml"])
            if not ok:
                return None
            changes.append("gross-total resection" if gtr else "partial resection")
            continue
        change = classify_change(before["whole_ml"], after["whole_ml"])
        expected = "stable" if trajectory.startswith("resection") else trajectory
        area_ratio = after["slice_lesion_mm2"] / max(before["slice_lesion_mm2"], 1.0)
        clear_on_slice = {"progressing": area_ratio >= 1.2, "improving": area_ratio <= 0.83}.get(expected, True)
        if change != expected or not clear_on_slice:
            return None
        changes.append(change)
    return changes


def draw_bleeds(rng: np.random.Generator, trajectory: Trajectory, n: int) -> list[HaemorrhageState]:
    """Haemorrhage states per visit for a CT trajectory (expanding, stable or resolving)."""
    lo, hi = {"progressing": (7.0, 11.0), "stable": (9.0, 16.0), "improving": (13.0, 18.0)}[trajectory]
    states = [HaemorrhageState(radius_mm=rng.uniform(lo, hi), density_hu=rng.uniform(70.0, 90.0))]
    for _ in range(1, n):
        prev = states[-1]
        f = {"progressing": rng.uniform(1.2, 1.26), "improving": rng.uniform(0.76, 0.82)}.get(trajectory, rng.uniform(0.995, 1.005))
        density = max(60.0, prev.density_hu - (rng.uniform(3, 8) if trajectory == "improving" else 0.0))
        states.append(HaemorrhageState(radius_mm=prev.radius_mm * f, density_hu=density))
    return states
