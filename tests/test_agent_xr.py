"""The rules planner on chest-radiograph and mammography demo items, with oracle experts.

The oracle (``fixtures.agent_demo``) answers from the demo's own labels and refuses images of a
modality its named expert is not for, so these tests measure the planner's routing by declared
capabilities (segmenters per finding and modality; view and side classifiers; "which image shows
the lesion"), option mapping and thresholds on the new kinds, in both variants. With mimir's shipped
experts (chest-finding and breast-lesion segmenters, view and side classifiers) the whole path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_demo import demo_items, oracle_registry, score

from mimir.agent.entry import Agent
from mimir.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions

    out = tmp_path_factory.mktemp("xr-demo")
    build_demo(out, patients=6, seed=29, workers=1, opts=BuildOptions(series=False, nifti=False, kinds=("cxr", "mg")))
    return out


@pytest.mark.parametrize("variant", ["png", "dicom"])
def test_chest_and_breast_items_with_oracle_experts(demo: Path, settings: Settings, variant: str) -> None:
    agent = Agent(settings, registry=oracle_registry(demo))
    for ability in ("temporal", "comparison", "coreference"):
        counts = score(agent, demo, ability, variant)
        n = sum(counts.values())
        assert n >= 4 and counts["correct"] / n >= 0.95, (ability, variant, counts)
        assert counts["wrong"] == 0, (ability, variant, counts)


@pytest.mark.parametrize("variant", ["png", "dicom"])
def test_chest_and_breast_items_with_the_shipped_experts(demo: Path, settings: Settings, variant: str) -> None:
    names = ("chest_xr_finding_seg", "chest_xr_view_classifier", "mammo_lesion_seg", "mammo_view_classifier",
             "mammo_laterality_classifier")
    if not all((settings.expert_dirs[0] / n / "models" / "model.pt").is_file() for n in names):
        pytest.skip("mimir's experts are not installed here")
    agent = Agent(settings)
    for ability in ("temporal", "comparison", "coreference"):
        counts = score(agent, demo, ability, variant)
        n = sum(counts.values())
        assert n >= 4 and counts["correct"] / n >= 0.95, (ability, variant, counts)
        assert counts["wrong"] == 0, (ability, variant, counts)


def test_birads_items_abstain_without_a_vlm(demo: Path, settings: Settings) -> None:
    agent = Agent(settings, registry=oracle_registry(demo))
    items = demo_items(demo, "reasoning", "png")
    assert items
    for case, _ in items:
        answer = agent.answer(case)
        assert answer.status == "abstained" and answer.letter is None and "VLM" in (answer.abstain_reason or "")
