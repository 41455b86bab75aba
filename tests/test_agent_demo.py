"""The rules planner on a freshly generated demo suite (Med-MIM format: key slices and whole volumes).

With oracle experts (the demo's own labels) the planner's routing, option mapping and thresholds
are measured alone; with mimir's trained experts, when their weights are installed, the whole path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_demo import demo_items, oracle_registry, score

from mimir.agent.entry import Agent
from mimir.settings import Settings

pytestmark = pytest.mark.slow
ABILITIES = ("temporal", "comparison", "coreference")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions

    out = tmp_path_factory.mktemp("demo")
    # the brain, head and eye patients these experts are for; chest and breast items: tests/test_agent_xr.py
    build_demo(out, patients=10, seed=11, workers=1, opts=BuildOptions(kinds=("mri", "ct", "fundus")))
    return out


def _load_volumes(demo: Path, settings: Settings) -> None:
    """The NIfTI volumes (with their sidecars) and DICOM series in the timeline: their dates come from there."""
    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths

    db = open_database(settings)
    try:
        ingest_paths(db, [demo / "nifti", demo / "series"], settings)
    finally:
        db.dispose()


@pytest.mark.parametrize("variant", ["png", "dicom", "nifti", "series"])
def test_rules_planner_with_oracle_experts(demo: Path, settings: Settings, variant: str) -> None:
    if variant in ("nifti", "series"):
        _load_volumes(demo, settings)
    agent = Agent(settings, registry=oracle_registry(demo))
    for ability in ABILITIES:
        if not (demo / f"demo_{ability}_{variant}.json").is_file():
            continue  # volume variants ask the temporal and comparison questions
        counts = score(agent, demo, ability, variant)
        n = sum(counts.values())
        assert n > 0 and counts["correct"] / n >= 0.95, (ability, variant, counts)
        assert counts["wrong"] == 0, (ability, variant, counts)


def test_fundus_diagnosis_abstains_without_a_vlm(demo: Path, settings: Settings) -> None:
    agent = Agent(settings, registry=oracle_registry(demo))
    fundus = [(c, g) for c, g in demo_items(demo, "reasoning", "png") if "fundus" in c.question or "eye" in c.question]
    assert fundus
    for case, _ in fundus:
        answer = agent.answer(case)
        assert answer.status == "abstained" and answer.letter is None and "VLM" in (answer.abstain_reason or "")


def _experts_trained(settings: Settings) -> bool:
    names = ("brain_mri_lesion_seg", "head_ct_haemorrhage_seg", "mr_sequence_classifier", "fundus_laterality_classifier")
    return all((settings.expert_dirs[0] / n / "models" / "model.pt").is_file() for n in names)


def _with_experts(demo: Path, settings: Settings, variant: str) -> dict[str, dict[str, int]]:
    if not _experts_trained(settings):
        pytest.skip("mimir's experts are not trained here (mimir experts train)")
    agent = Agent(settings)
    return {ability: dict(score(agent, demo, ability, variant)) for ability in ABILITIES
            if (demo / f"demo_{ability}_{variant}.json").is_file()}


def test_trained_experts_png(demo: Path, settings: Settings) -> None:
    results = _with_experts(demo, settings, "png")
    correct = sum(c.get("correct", 0) for c in results.values())
    assert correct / sum(sum(c.values()) for c in results.values()) >= 0.95, results  # few items per ability here


def test_trained_experts_dicom(demo: Path, settings: Settings) -> None:
    results = _with_experts(demo, settings, "dicom")
    assert all(c.get("wrong", 0) == 0 for c in results.values()), results
    for ability, counts in results.items():
        assert counts.get("correct", 0) / sum(counts.values()) >= 0.95, (ability, counts)


@pytest.mark.parametrize("variant", ["nifti", "series"])
def test_trained_experts_on_whole_volumes(demo: Path, settings: Settings, variant: str) -> None:
    _load_volumes(demo, settings)
    results = _with_experts(demo, settings, variant)
    assert set(results) == {"temporal", "comparison"}
    for ability, counts in results.items():
        assert counts.get("wrong", 0) == 0, (ability, counts)
        assert counts.get("correct", 0) / sum(counts.values()) >= 0.95, (ability, counts)
