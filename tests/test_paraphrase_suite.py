"""The paraphrase suite: demo patients asked about in other words, with gold from the simulation.

Tools are the demo's oracle experts (its own labels), so what is measured is the reading of the
question and its options, not segmentation. The bar: at least 95 % of the items that need no VLM
answered correctly and no item that needs a VLM answered at all, in both image variants.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
from fixtures.agent_demo import oracle_registry

from mimir.agent.entry import Agent
from mimir.domain import Case, CaseImage
from mimir.evals.paraphrase import KINDS, SPLITS, load_split, load_templates, suite_files, write_suite
from mimir.settings import Settings

pytestmark = pytest.mark.slow
SEED, PATIENTS = 23, 14


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions

    out = tmp_path_factory.mktemp("paraphrase")
    build_demo(out, patients=PATIENTS, seed=SEED, workers=2, opts=BuildOptions(series=False, nifti=False, kinds=KINDS))
    write_suite(out)
    return out


@pytest.fixture(scope="module")
def outcomes(suite: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], Counter[str]]:
    """(split, ability or 'vlm', variant) -> counts of correct / wrong / abstained, answered by the rules planner."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("data")).ensure_dirs()
    agent = Agent(settings, registry=oracle_registry(suite))
    out: dict[tuple[str, str, str], Counter[str]] = {}
    for f in suite_files(suite):
        counts = out.setdefault((f.split, "vlm" if f.needs_vlm else f.ability, f.variant), Counter())
        for it in json.loads((suite / f.file).read_text()):
            gold = it["conversation"][1]["content"].split(":")[0]
            case = Case(question=it["conversation"][0]["content"],
                        images=[CaseImage(path=str((suite / p).resolve())) for p in it["images"]])
            answer = agent.answer(case)
            counts["abstained" if answer.status != "ok" or answer.letter is None
                   else "correct" if answer.letter == gold else "wrong"] += 1
    return out


def _questions(suite: Path, variant: str) -> set[tuple[str, str, tuple[str, ...]]]:
    out = set()
    for f in suite_files(suite):
        if f.variant == variant:
            for it in json.loads((suite / f.file).read_text()):
                out.add((f.split, it["conversation"][0]["content"], tuple(it["images"])))
    return out


def test_at_least_300_closed_questions_in_both_variants(suite: Path) -> None:
    dicom, png = _questions(suite, "dicom"), _questions(suite, "png")
    assert len(dicom) >= 300 and len(png) >= 250, (len(dicom), len(png))
    abilities = Counter((f.ability, f.needs_vlm) for f in suite_files(suite) for _ in range(f.items))
    assert all(abilities[(a, False)] >= 40 for a in ("temporal", "comparison", "coreference")), abilities
    assert abilities[("reasoning", True)] + abilities[("coreference", True)] >= 20, abilities


def test_every_item_is_closed_with_its_gold_among_the_options(suite: Path) -> None:
    for f in suite_files(suite):
        for it in json.loads((suite / f.file).read_text()):
            user, gold = it["conversation"][0]["content"], it["conversation"][1]["content"]
            assert user.count("<image>") == len(it["images"]) and f"\n{gold}\n" in user, (f.file, user, gold)


def test_splits_share_no_wording_with_each_other_or_the_demo_generator(suite: Path) -> None:
    files = [load_templates(s) for s in SPLITS]
    stems = [{t.stem or "" for t in tf.templates} | {s for t in tf.templates for s in t.stems.values()} for tf in files]
    for a, b in itertools.combinations(range(len(SPLITS)), 2):
        assert not (stems[a] & stems[b]) - {""}, (SPLITS[a], SPLITS[b])
    demo = {json.loads(p.read_text())[i]["conversation"][0]["content"].split("\n")[0].replace("<image>", "")
            for p in suite.glob("demo_*_dicom.json") for i in range(len(json.loads(p.read_text())))}
    ours = {q.split("\n")[0].replace("<image>", "") for _, q, _ in _questions(suite, "dicom")}
    assert not demo & ours


def test_the_eval_loader_reads_each_split_with_its_subsets(suite: Path) -> None:
    for split in SPLITS:
        items = load_split(suite, split)
        subsets = {it.subset for it in items}
        assert {f"{split}-{a}-{v}" for a in ("temporal", "comparison", "coreference", "vlm") for v in ("png", "dicom")} <= subsets
        assert all(it.closed and it.source == "DEMO" and not it.missing_images for it in items)


def test_items_that_need_a_vlm_abstain_without_one(outcomes: dict[tuple[str, str, str], Counter[str]]) -> None:
    for (split, ability, variant), counts in outcomes.items():
        if ability == "vlm":
            assert counts["wrong"] == 0 and counts["correct"] == 0 and counts["abstained"] > 0, (split, variant, counts)


#: Splits below the bar on this build, each marked as a strict expected failure with its figures (none now:
#: the first measurements of held-out 3, 4, 5 and 7, and the figures after their study, are in docs/agent.md).
MARKS: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.parametrize("split", [pytest.param(s, marks=MARKS[s]) if s in MARKS else s for s in SPLITS])
@pytest.mark.parametrize("variant", ["png", "dicom"])
def test_paraphrase_bar(outcomes: dict[tuple[str, str, str], Counter[str]], split: str, variant: str) -> None:
    rows = {k: v for k, v in outcomes.items() if k[0] == split and k[2] == variant and k[1] != "vlm"}
    total = sum((v for v in rows.values()), Counter())
    n = sum(total.values())
    assert n and total["correct"] / n >= 0.95, {k[1]: dict(v) for k, v in rows.items()}
