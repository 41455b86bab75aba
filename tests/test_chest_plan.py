"""Chest and mammography plans exist for every seed and patient, and are clear-cut on the films.

Chest plans are constructed from target areas (``mimir.demo.chest_plan``); before that, drawing
extents at random left some patients without a plan (a progressing pneumothorax whose area saturates:
seed 3 patient 0 and seed 9090 patient 6 of the chest-and-mammography cycle). The many-seed tests
plan on a few real patients each (a patient takes longer to make than a plan) with a new generator
per seed, so every seed draws its own finding side, lobe, views, positioning and step factors.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mimir.demo.chest import finding_area_mm2
from mimir.demo.chest_anatomy import ChestSubject, chest_subject
from mimir.demo.chest_findings import FINDINGS
from mimir.demo.chest_plan import CHEST_STABLE, GROWTH_MIN, SHRINK_MAX, ChestPlan, plan_chest
from mimir.demo.mammo import MammoSubject, mammo_subject
from mimir.demo.patient_plan import choose_kind, kind_rank
from mimir.demo.plan_xr import CXR_TRAJECTORIES, chest_kind, mammo_kind, plan_mammo, xr_identity

SEEDS = range(200)


@functools.lru_cache(maxsize=8)
def _chest(key: int) -> ChestSubject:
    return chest_subject(np.random.default_rng([515, key]))


@functools.lru_cache(maxsize=4)
def _breast(key: int) -> MammoSubject:
    return mammo_subject(np.random.default_rng([516, key]))


def _assert_clear_cut(plan: ChestPlan | None, trajectory: str, n: int) -> None:
    assert plan is not None
    areas = [finding_area_mm2(f.labels) for f in plan.frames]
    assert areas == plan.areas and len(areas) == n and min(areas) > 0  # the truth is what the films show
    for before, after in zip(areas, areas[1:], strict=False):
        ratio = after / before
        if trajectory == "progressing":
            assert ratio >= GROWTH_MIN, areas
        elif trajectory == "improving":
            assert ratio <= SHRINK_MAX, areas
        else:
            assert abs(ratio - 1.0) <= CHEST_STABLE, areas
    assert plan.changes == [None] + [trajectory] * (n - 1)


@pytest.mark.parametrize(("seed", "index"), [(3, 0), (9090, 6)])
def test_the_plans_that_could_not_be_drawn_now_exist(seed: int, index: int) -> None:
    # these patients were a progressing pneumothorax when the kind cycle made them so; the same draws
    # are replayed with that finding and trajectory
    kind, _ = choose_kind(seed, index, ("cxr", "mg"))
    assert kind == "cxr"
    rng = np.random.default_rng([seed, index])  # the generator's own path, as build_patient takes it
    plan = xr_identity(rng, seed, index, kind, "progressing")
    n = len(plan.dates)
    _assert_clear_cut(plan_chest(rng, chest_subject(rng), "pneumothorax", "progressing", n), "progressing", n)


@pytest.mark.parametrize("seed", [0, 1, 2, 3131, 6262, 20261206])
def test_fifteen_chest_patients_meet_every_finding_with_every_trajectory(seed: int) -> None:
    kinds = ("cxr",)
    pairs = {chest_kind(seed, kind_rank(index, kinds)) for index in range(15)}
    assert pairs == {(f, t) for f in FINDINGS for t in CXR_TRAJECTORIES}
    assert [choose_kind(seed, i, kinds)[1] for i in range(15)] == [t for _, t in (chest_kind(seed, i) for i in range(15))]


@pytest.mark.parametrize("finding", FINDINGS)
def test_every_trajectory_of_every_finding_over_four_visits(finding: str) -> None:
    for k, trajectory in enumerate(CXR_TRAJECTORIES):
        rng = np.random.default_rng([17, k])
        _assert_clear_cut(plan_chest(rng, _chest(k), finding, trajectory, 4), trajectory, 4)  # type: ignore[arg-type]


@pytest.mark.slow
def test_chest_plans_exist_for_200_seeds() -> None:
    for seed in SEEDS:
        rank = seed % 15  # with the seed's rank, every finding meets every trajectory
        finding, trajectory = chest_kind(seed, rank)
        n = 2 + seed % 3
        plan = plan_chest(np.random.default_rng([seed, rank]), _chest(seed % 8), finding, trajectory, n)
        _assert_clear_cut(plan, trajectory, n)


def test_mammography_plans_exist_for_200_seeds() -> None:
    for seed in SEEDS:
        trajectory = mammo_kind(seed, seed % 5)
        n = 2 + seed % 3
        plan = plan_mammo(np.random.default_rng([seed, 5]), _breast(seed % 4), trajectory, n)
        assert plan is not None, (seed, trajectory, n)
        assert len(plan.areas) == n and len(plan.birads) == n
