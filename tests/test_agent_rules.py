"""The rules planner end to end through the graph, with stand-in experts and the real ToolRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import CHANGE_OPTIONS, lesion_case
from fixtures.agent_tools import stand_in_registry

from mimir.agent.entry import Agent
from mimir.agent.options import change_of, image_of, letter_for_change, letter_for_label
from mimir.agent.question_kind import classify_question
from mimir.settings import Settings


@pytest.fixture
def agent(settings: Settings) -> Agent:
    return Agent(settings, registry=stand_in_registry())


@pytest.mark.parametrize(("text", "ability"), [
    ("How has the tumour changed since the prior scan?" + CHANGE_OPTIONS, "temporal"),
    ("Which image shows the larger lesion?\nA: the first image\nB: the second image", "comparison"),
    ("Which image is the FLAIR sequence?\nA: the first image\nB: the second image", "coreference"),
    ("What sequence is the second image?\nA: T1\nB: T2\nC: FLAIR", "coreference"),
    ("What is the most likely diagnosis of the left eye?\nA: AMD\nB: diabetic retinopathy\nC: normal", "reasoning"),
])
def test_classifier_names_the_ability(text: str, ability: str) -> None:
    assert classify_question(text).ability == ability


def test_option_mapping_uses_synonyms() -> None:
    opts = {"A": "The lesion has grown", "B": "No significant change", "C": "Partial response"}
    assert [letter_for_change(opts, c) for c in ("increase", "stable", "decrease")] == ["A", "B", "C"]
    assert change_of("Gross-total resection") == "gross_total"
    assert change_of("Subtotal resection with residual enhancement") == "partial"
    assert image_of("Image 3", 3) == 2 and image_of("the last scan", 4) == 3 and image_of("Image 5", 3) is None
    assert letter_for_label({"A": "T1", "B": "T1 post-contrast (T1C)", "C": "T2"}, "T1C") == "B"


@pytest.mark.parametrize(("radii", "letter"), [([10, 13, 16], "A"), ([15, 15, 15], "B"), ([16, 13.5, 11], "C")])
def test_temporal_change_maps_to_option(agent: Agent, tmp_path: Path, radii: list[float], letter: str) -> None:
    case = lesion_case(tmp_path, radii, "How has the lesion changed over time on these MRI scans?" + CHANGE_OPTIONS)
    answer = agent.answer(case)
    assert (answer.status, answer.letter, answer.ability) == ("ok", letter, "temporal")
    # every image segmented and its sequence checked (sizes of different sequences are not compared), then compare
    assert sorted(s.tool for s in answer.steps[:6]) == ["classify"] * 3 + ["segment"] * 3
    assert answer.steps[-1].tool == "compare" and len(answer.steps) == 7
    assert sorted(i for s in answer.steps if s.tool == "segment" for i in s.image_indices) == [0, 1, 2]
    assert any("category" in e.values for e in answer.evidence)
    sizes = [e.values["size"] for e in answer.evidence if "size" in e.values]
    assert sizes == sorted(sizes, reverse=letter == "C") and all(e.tool_run_ids for e in answer.evidence[:3])


@pytest.mark.parametrize(("radii", "letter"), [([10, 16], "C"), ([15, 15], "A"), ([16, 11], "B")])
def test_options_that_all_begin_it_is_are_categories_not_yes_no(agent: Agent, tmp_path: Path, radii: list[float],
                                                                 letter: str) -> None:
    options = "\nA: It is unchanged\nB: It is smaller\nC: It is larger"
    answer = agent.answer(lesion_case(tmp_path, radii, "How has the lesion changed on these MRI scans?" + options))
    assert (answer.status, answer.letter) == ("ok", letter), answer.abstain_reason


@pytest.mark.parametrize(("radii", "letter"), [([10, 16], "A"), ([16, 10], "B"), ([15, 15], "C")])
def test_options_that_place_a_change_on_one_image_read_as_changes_in_time(agent: Agent, tmp_path: Path,
                                                                          radii: list[float], letter: str) -> None:
    q = ("Second MRI against the first: is the lesion larger, smaller or the same?\nA: larger on the second"
         "\nB: larger on the first\nC: same size")
    assert agent.answer(lesion_case(tmp_path, radii, q)).letter == letter
    q = "Second MRI against the first?\nA: smaller than the first\nB: larger than the first\nC: same size"
    assert agent.answer(lesion_case(tmp_path, radii, q)).letter == {"A": "B", "B": "A", "C": "C"}[letter]


@pytest.mark.parametrize(("radii", "letter"), [([16, 13, 10], "B"), ([10, 13, 16], "C"), ([10, 16, 13], "A")])
def test_one_change_asked_against_two_references_answers_each(agent: Agent, tmp_path: Path, radii: list[float],
                                                              letter: str) -> None:
    q = ("Compared with the first MRI, and separately with the one before the last, has the lesion grown?"
         "\nA: grown compared with the first scan only\nB: grown compared with neither\nC: grown compared with both")
    answer = agent.answer(lesion_case(tmp_path, radii, q))
    assert answer.letter == letter, answer.abstain_reason


def test_resection_extent_from_residual_enhancement(agent: Agent, tmp_path: Path) -> None:
    q = "Following surgery, what was the extent of resection on MRI?\nA: gross-total resection\nB: partial resection"
    gtr = agent.answer(lesion_case(tmp_path, [14, 0], q, rims=[0, 8]))
    partial = agent.answer(lesion_case(tmp_path, [14, 5], q, rims=[0, 8]))
    assert (gtr.letter, partial.letter) == ("A", "B")
    # no residual on one slice: the rims the brain expert is known to miss there are stated with the answer
    assert "Doubt: image 2: on post-operative T1C key slices" in gtr.text
    assert "Doubt" not in partial.text


def test_comparison_picks_the_larger_image(agent: Agent, tmp_path: Path) -> None:
    q = "Which image shows the larger lesion?\nA: the first image\nB: the second image"
    assert agent.answer(lesion_case(tmp_path, [9, 14], q)).letter == "B"


def test_coreference_uses_the_classifier_without_metadata(agent: Agent, tmp_path: Path) -> None:
    q = "Which image is the FLAIR sequence?\nA: the first image\nB: the second image\nC: the third image"
    answer = agent.answer(lesion_case(tmp_path, [8, 8, 8], q, sequences=["T1", "FLAIR", "T2"]))
    assert answer.letter == "B" and {s.tool for s in answer.steps} == {"classify"}


def test_coreference_prefers_timeline_metadata(agent: Agent, tmp_path: Path) -> None:
    case = lesion_case(tmp_path, [8, 8], "What sequence is the second image?\nA: T1\nB: T2\nC: FLAIR")
    case.images[1].series_description = "Ax T2 FLAIR"
    answer = agent.answer(case)
    assert answer.letter == "C" and answer.steps == [] and "metadata" in answer.evidence[0].statement


def test_question_needing_a_vlm_abstains_without_one(agent: Agent, tmp_path: Path) -> None:
    q = "What is the most likely diagnosis?\nA: AMD\nB: diabetic retinopathy\nC: normal"
    answer = agent.answer(lesion_case(tmp_path, [5, 5], q))
    assert answer.status == "abstained" and answer.letter is None
    assert "no VLM is configured" in (answer.abstain_reason or "") and not answer.steps


def test_no_declared_capability_abstains_naming_it(settings: Settings, tmp_path: Path) -> None:
    agent = Agent(settings, registry=stand_in_registry())
    q = "How has the haemorrhage changed on these CT scans?" + CHANGE_OPTIONS  # the stand-ins declare MR only
    answer = agent.answer(lesion_case(tmp_path, [5, 8], q))
    assert answer.status == "abstained" and not answer.steps
    assert "declares that it segments haemorrhage on CT images" in (answer.abstain_reason or "")


def test_failing_expert_leads_to_abstention_not_crash(settings: Settings, tmp_path: Path) -> None:
    q = "How has the haemorrhage changed on these CT scans?" + CHANGE_OPTIONS  # declared, but every call refused
    answer = Agent(settings, registry=stand_in_registry(refuses_ct=True)).answer(lesion_case(tmp_path, [5, 8], q))
    assert answer.status == "abstained" and {s.status for s in answer.steps} == {"cannot"}


def test_tool_that_raises_is_recorded_as_failed_and_the_answer_abstains(settings: Settings, tmp_path: Path) -> None:
    from fixtures.agent_tools import broken_segmenter_registry

    reg = broken_segmenter_registry()
    answer = Agent(settings, registry=reg).answer(
        lesion_case(tmp_path, [5, 8], "How has the lesion changed over time on MRI?" + CHANGE_OPTIONS))
    assert answer.letter is None and answer.status in ("abstained", "tool_failed")
    assert answer.steps and {s.status for s in answer.steps} == {"failed"}
    assert "RuntimeError: dictionary changed size" in answer.steps[0].summary


def test_tool_limit_stops_the_plan(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", planner_max_tool_calls=2).ensure_dirs()
    answer = Agent(settings, registry=stand_in_registry()).answer(
        lesion_case(tmp_path, [5, 8, 11], "How has the lesion changed over time on MRI?" + CHANGE_OPTIONS))
    assert len(answer.steps) == 2 and answer.status == "abstained" and "tool calls" in (answer.abstain_reason or "")


def test_results_become_timeline_findings_and_are_cached(agent: Agent, tmp_path: Path, settings: Settings) -> None:
    import json

    from sqlalchemy import select

    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths
    from mimir.memory.models import Finding

    case = lesion_case(tmp_path, [10, 14], "How has the lesion changed over time on MRI?" + CHANGE_OPTIONS,
                       patient_id="P-7")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{"path": img.path, "patient_id": "P-7", "date": f"2024-0{i + 1}-01",
                                     "modality": "MR", "series_description": "T1C"}
                                    for i, img in enumerate(case.images)]))
    db = open_database(settings)
    report = ingest_paths(db, [Path(i.path) for i in case.images], settings, manifest=manifest)
    assert all(item.image_id for item in report.items)
    first = agent.answer(case)
    second = agent.answer(case)
    with db.session() as s:
        labels = sorted(s.scalars(select(Finding.label)))
    assert first.letter == second.letter == "A"
    assert {st.status for st in first.steps} == {"ok"} and {st.status for st in second.steps} == {"cached"}
    assert labels.count("enhancing area") == 2
    later = Agent(settings, registry=stand_in_registry())
    events = list(later.stream(case))
    intake = next(e for e in events if e.node == "intake" and e.kind == "step_finished")
    assert intake.data["known_images"] == 2 and intake.data["prior_studies"] == 2


def test_unknown_images_are_looked_up_once_until_the_timeline_grows(settings: Settings, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import mimir.memory.registration as memory_intake
    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths

    looked_up: list[str] = []
    original = memory_intake.register_case

    def counting(session, case, settings):  # type: ignore[no-untyped-def]
        looked_up.extend(i.path for i in case.images)
        return original(session, case, settings)

    monkeypatch.setattr(memory_intake, "register_case", counting)
    agent = Agent(settings, registry=stand_in_registry())
    case = lesion_case(tmp_path, [10, 14], "How has the lesion changed over time on MRI?" + CHANGE_OPTIONS)
    agent.answer(case)
    agent.answer(case)
    assert len(looked_up) == 2  # anonymous files: hashed and queried by the first question only

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{"path": img.path, "patient_id": "P-9", "date": f"2024-0{i + 1}-01",
                                     "modality": "MR", "series_description": "T1C"}
                                    for i, img in enumerate(case.images)]))
    ingest_paths(open_database(settings), [Path(i.path) for i in case.images], settings, manifest=manifest)
    events = list(agent.stream(case))
    intake = next(e for e in events if e.node == "intake" and e.kind == "step_finished")
    assert len(looked_up) == 4 and intake.data["known_images"] == 2  # the timeline grew: looked up again, found
    agent.answer(case)
    assert len(looked_up) == 4  # known now: not hashed again


def test_configured_vlm_answers_visual_questions_and_backs_up_failed_experts(settings: Settings, tmp_path: Path) -> None:
    from fixtures.agent_tools import with_vlm_stand_in

    agent = Agent(settings, registry=with_vlm_stand_in(stand_in_registry(refuses_ct=True), "B"))
    q = "What is the most likely diagnosis?\nA: AMD\nB: diabetic retinopathy\nC: normal"
    diag = agent.answer(lesion_case(tmp_path, [5, 5], q))
    assert (diag.status, diag.letter, [s.tool for s in diag.steps]) == ("ok", "B", ["vlm_answer"])
    assert diag.steps[0].arguments["options"]["B"] == "diabetic retinopathy"
    ct = agent.answer(lesion_case(tmp_path, [5, 8], "How has the haemorrhage changed on these CT scans?" + CHANGE_OPTIONS))
    assert [s.tool for s in ct.steps] == ["segment", "segment", "vlm_answer"] and ct.letter == "B"


def test_no_lesion_found_anywhere_abstains(agent: Agent, tmp_path: Path) -> None:
    q = "Which of the two scans shows the larger lesion on MRI?\nA: the first image\nB: the second image"
    answer = agent.answer(lesion_case(tmp_path, [-1, -1], q))  # no lesion pixels at all
    assert answer.status == "abstained" and "no lesion" in (answer.abstain_reason or "")


@pytest.mark.parametrize(("first", "last", "unit", "change"), [
    (800.0, 720.0, "mm2", "stable"),      # -10 % of a slice area: segmentation noise, not response
    (704.0, 792.0, "mm2", "stable"),      # +12.5 %
    (800.0, 700.0, "mm2", "decrease"),    # -12.5 %: a ratio of 1.143, past the 1.135 limit
    (500.0, 580.0, "mm2", "increase"),    # +16 %
    (500.0, 420.0, "mm2", "decrease"),    # -16 %
    (10.0, 11.8, "mL", "stable"),         # +18 % of a volume
    (10.0, 12.5, "mL", "increase"),       # +25 %
    (10.0, 0.0, "mm2", "decrease"),       # resolved
    (0.0, 0.0, "mm2", "stable"),
    (0.0, 40.0, "mm2", "increase"),       # new
])
def test_change_between_reads_noise_as_stable_and_real_change_as_change(first, last, unit, change) -> None:
    from mimir.agent.planners.readings import change_between

    assert change_between(first, last, unit)[0] == change



def test_a_denied_extreme_among_three_images_abstains_saying_why(agent: Agent, tmp_path: Path) -> None:
    q = "Which scan does not show the largest lesion?\nA: the first scan\nB: the second scan\nC: the third scan"
    answer = agent.answer(lesion_case(tmp_path, [9, 12, 16], q))
    assert answer.letter is None and "names no one image" in (answer.abstain_reason or "")
    q = "On which scan is the lesion not the larger of the two?\nA: the first scan\nB: the second scan"
    assert agent.answer(lesion_case(tmp_path, [9, 16], q)).letter == "A"
