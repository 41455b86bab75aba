"""Ability routing on the real Med-MIM question texts: per file, which ability (and so which tools) each item gets."""

from __future__ import annotations

from collections import Counter

import pytest
from fixtures.paths import MEDMIM_DIR

from mimir.agent.question_kind import ability_of, classify_question
from mimir.domain import ABILITIES, ParsedQuestion

pytestmark = pytest.mark.skipif(not (MEDMIM_DIR / "Med_MIM_benchmark_Held_in_Temporal.json").is_file(),
                                reason=f"Med-MIM question files not found in {MEDMIM_DIR}")

#: Which tools the rules planner tries first for an ability (then the VLM, then abstention).
ROUTES = {"temporal": "measure", "comparison": "measure", "coreference": "identify", "reasoning": "vlm", "other": "vlm"}
#: Measured shares (4 December figures) each file must keep: its own ability, and the route to the tools
#: that can answer it. Comparison: 274 of 344 comparison and 43 temporal (MS-CXR-T progression
#: questions whose options are change categories), so 317 of 344 go to measurement.
FLOORS = {
    "temporal": {"ability": ("temporal", 0.99), "route": ("measure", 0.99)},
    "reasoning": {"ability": ("reasoning", 0.97), "route": ("vlm", 0.97)},
    "comparison": {"ability": ("comparison", 0.78), "route": ("measure", 0.90)},
    "coreference": {"ability": ("coreference", 0.99), "route": ("identify", 0.99)},
    "odir": {"ability": ("reasoning", 0.95), "route": ("vlm", 0.95)},
}


@pytest.fixture(scope="module")
def table() -> dict[str, Counter[str]]:
    from mimir.evals.loader import load_medmim

    out: dict[str, Counter[str]] = {}
    for it in load_medmim(MEDMIM_DIR):
        out.setdefault(it.subset, Counter())[ability_of(ParsedQuestion(stem=it.stem, options=it.options))] += 1
    return out


@pytest.mark.parametrize("subset", sorted(FLOORS))
def test_ability_routing_per_file(table: dict[str, Counter[str]], subset: str) -> None:
    counts = table[subset]
    n = sum(counts.values())
    ability, floor = FLOORS[subset]["ability"]
    route, route_floor = FLOORS[subset]["route"]
    routed = sum(v for k, v in counts.items() if ROUTES[k] == route)
    shares = {k: round(v / n, 3) for k, v in counts.items()}
    assert counts[ability] / n >= floor, shares
    assert routed / n >= route_floor, shares


#: The rules planner's first route by the questions' intents (``mimir.evals.medmim_routing``, the table in
#: docs/agent.md): the share of each file that goes to tools able to answer it. Co-reference goes to image
#: labels (metadata, classifiers) or to segmentation of the finding it names ("which image shows the mass").
INTENT_FLOORS = {"temporal": ({"measure"}, 0.98), "reasoning": ({"vlm"}, 0.97), "comparison": ({"measure"}, 0.91),
                 "coreference": ({"identify", "presence", "measure"}, 0.99), "odir": ({"vlm"}, 0.99)}


@pytest.fixture(scope="module")
def intent_table() -> dict[str, Counter[str]]:
    from mimir.evals.medmim_routing import routing_table

    return routing_table(MEDMIM_DIR)


@pytest.mark.parametrize("subset", sorted(INTENT_FLOORS))
def test_intents_route_each_file_to_tools_that_can_answer_it(intent_table: dict[str, Counter[str]], subset: str) -> None:
    counts = intent_table[subset]
    routes, floor = INTENT_FLOORS[subset]
    shares = {k: round(v / counts["n"], 3) for k, v in counts.items() if k.startswith("route:")}
    assert sum(counts[f"route:{r}"] for r in routes) / counts["n"] >= floor, shares


def test_the_routing_table_prints_one_row_per_file(intent_table: dict[str, Counter[str]]) -> None:
    from mimir.evals.medmim_routing import markdown

    rows = markdown(intent_table).splitlines()
    assert len(rows) == 2 + 6 and rows[2].startswith("| Held_in_Temporal (temporal) | 933 |")


def test_rad_mixes_abilities_but_never_calls_a_statement_question_coreference(table: dict[str, Counter[str]]) -> None:
    counts = table["rad"]
    assert set(counts) <= set(ABILITIES) and counts["coreference"] / sum(counts.values()) < 0.05


@pytest.mark.parametrize(("text", "ability"), [
    ("Which of these brain scans is the post-gad T1?\nA: the first image\nB: the second image", "coreference"),
    ("Which image shows the lower tumour burden?\nA: Image 1\nB: Image 2", "comparison"),
    ("Which scan shows the most extensive haemorrhage?\nA: the first scan\nB: the middle one\nC: the last scan", "comparison"),
    ("Which breast scan best shows signs of malignancy?\nA: the first scan\nB: the second scan", "coreference"),
    ("Has the lesion grown since the baseline study?\nA: Yes\nB: No", "temporal"),
    ("Looking at the follow-up, is the tumour progressing or stable?\nA: progressing\nB: stable", "temporal"),
    ("What are the differences between the two radiographs?", "comparison"),
    ("Was the enhancing tumour completely removed at surgery?\nA: yes\nB: no", "comparison"),
    ("What will the patient's condition be next year?\nA: worse\nB: better\nC: same", "temporal"),
    ("What is the BI-RADS category of these mammograms?\nA: 1\nB: 2\nC: 4", "reasoning"),
    ("What is the laterality of the second fundus photograph?\nA: left\nB: right", "coreference"),
])
def test_structure_decides_the_ability(text: str, ability: str) -> None:
    assert classify_question(text).ability == ability
