"""Question forms that wrap or refer back: statements judged true or false, premises, quantified and listed options.

Each vocabulary term of the concepts these forms use (statement frames, judgements, exclusion,
quantifiers, succession) is taken to the planner's decision, and the whole route is run end to end
with the stand-in experts where a wrong reading used to give a confident wrong answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fixtures.agent_cases import lesion_case
from fixtures.agent_tools import stand_in_registry

from mimir import vocabulary as voc
from mimir.agent.assertions import statement_frame
from mimir.agent.entry import Agent
from mimir.agent.intents import read_question
from mimir.agent.meaning import parts_by_quantifier, read_options
from mimir.settings import Settings

TABLE = voc.vocabulary().table


def _terms(concept: str) -> list[tuple[str, str]]:
    return [(v, re.sub(r"\*", "", t)) for v, e in TABLE[concept].items() for t in (*e.terms, *e.abbreviations)]


@pytest.fixture
def agent(settings: Settings) -> Agent:
    return Agent(settings, registry=stand_in_registry())


@pytest.mark.parametrize(("value", "term"), _terms("judgement"), ids=[f"{v}:{t}" for v, t in _terms("judgement")])
def test_a_judgement_before_a_verb_of_saying_decides_whether_the_statement_is_asked_as_true(value: str, term: str) -> None:
    [intent] = read_question(f"Is it {term} to claim the mass has enlarged?", {"A": "Yes", "B": "No"})
    assert intent.asserted == {"increase"}
    assert intent.frame == ("plain" if value == "true" else "inverted")


@pytest.mark.parametrize(("value", "term"), _terms("statement_frame"), ids=[t for _, t in _terms("statement_frame")])
def test_verbs_of_saying_embed_a_statement(value: str, term: str) -> None:
    own = voc.find(term, "judgement")  # "agree", "disagree" carry their own judgement
    statement, frame = statement_frame(f"Would it be inaccurate {term} the mass has enlarged?")
    assert frame == ("inverted" if not own or own[0].value == "false" else "plain")
    assert statement.strip().startswith("the mass")
    if value == "say" and not own:  # with no judgement before it, the frame is not read
        assert statement_frame(f"Then {term} the mass has enlarged?")[1] == "unread"
    elif value == "that":  # "that" alone is a relative pronoun, not a frame
        assert statement_frame(f"Has the mass {term} enhances enlarged?")[1] == "plain"


@pytest.mark.parametrize(("radii", "letter"), [([10, 16], "B"), ([16, 10], "A"), ([14, 14], "A")])
def test_a_statement_asked_as_false_answers_the_opposite_yes_or_no(agent: Agent, tmp_path: Path, radii: list[float],
                                                                  letter: str) -> None:
    q = "Is it a mistake to state that the mass has enlarged on these MRI scans?\nA: Yes\nB: No"
    answer = agent.answer(lesion_case(tmp_path, radii, q))
    assert (answer.status, answer.letter) == ("ok", letter), answer.abstain_reason


@pytest.mark.parametrize("stem", ["Is the post-operative state of the mass stable?", "Has the mass grown, as the report said?",
                                  "Does the claim of growth hold: has the mass enlarged?"])
def test_nouns_of_saying_and_a_report_after_the_statement_frame_nothing(stem: str) -> None:
    assert statement_frame(stem)[1] == "plain"
    assert statement_frame("Is it wrong to state that the mass is stable?")[1] == "inverted"


def test_a_judgement_under_a_negation_abstains_and_says_why(agent: Agent, tmp_path: Path) -> None:
    q = "Wouldn't it be correct to say the mass has enlarged on these MRI scans?\nA: Yes\nB: No"
    answer = agent.answer(lesion_case(tmp_path, [10, 16], q))
    assert answer.status != "ok" and answer.letter is None
    assert "judgement" in (answer.abstain_reason or "")


@pytest.mark.parametrize(("value", "term"), _terms("exclusion"), ids=[t for _, t in _terms("exclusion")])
def test_a_label_named_in_a_premise_and_excluded_in_the_question(value: str, term: str) -> None:
    stem = f"Exactly one scan here is a T2. Pick the {term} scan."
    [intent] = read_question(stem, {"A": "the first image", "B": "the second image"})
    assert (intent.kind, intent.negated, intent.value) == ("identify", True, "T2")


@pytest.mark.parametrize(("value", "term"), _terms("set_aside"), ids=[t for _, t in _terms("set_aside")])
def test_a_set_aside_label_is_denied_and_anything_else_set_aside_is_unread(value: str, term: str) -> None:
    options = {"A": "the first image", "B": "the second image"}
    [label] = read_question(f"{term.capitalize()} the T2: which scan is that?", options)
    assert (label.kind, label.negated, label.value) == ("identify", True, "T2")
    [visit] = read_question(f"{term.capitalize()} the prior, which scan shows the larger lesion?", options)
    assert visit.frame == "unread" and "aside" in visit.why  # never an answer over the images it set aside


def test_the_image_other_than_the_one_a_premise_names_is_answered(agent: Agent, tmp_path: Path) -> None:
    q = "Exactly one scan here is a T2. Pick the remaining scan.\nA: the first image\nB: the second image"
    answer = agent.answer(lesion_case(tmp_path, [8, 8], q, sequences=["T2", "FLAIR"]))
    assert (answer.status, answer.letter) == ("ok", "B"), answer.abstain_reason
    again = agent.answer(lesion_case(tmp_path, [8, 8], q, sequences=["FLAIR", "T2"]))
    assert again.letter == "A"


@pytest.mark.parametrize(("value", "term"), _terms("quantifier"), ids=[t for _, t in _terms("quantifier")])
def test_quantifiers_answer_every_part_of_a_compound_question(value: str, term: str) -> None:
    parts = ["Has the mass grown since the first visit", "has it grown since the prior?"]
    said = parts_by_quantifier(f"Grown {term} since the first visit" if value == "only" else f"Grown {term}", parts)
    assert said == {"all": (True, True), "none": (False, False), "only": (True, False)}[value]


@pytest.mark.parametrize(("radii", "letter"), [([10, 13, 16], "C"), ([16, 13, 16], "A"), ([16, 16, 16], "D")])
def test_compound_question_with_quantified_options(agent: Agent, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = ("Has the mass grown since the first visit on these MRI scans, and has it grown since the prior?"
         "\nA: Only since the prior\nB: Only since the first visit\nC: Since both\nD: Since neither")
    answer = agent.answer(lesion_case(tmp_path, radii, q))
    assert (answer.status, answer.letter) == ("ok", letter), answer.abstain_reason


@pytest.mark.parametrize(("value", "term"), _terms("succession"), ids=[t for _, t in _terms("succession")])
def test_labels_listed_in_order_assign_the_images_in_order(value: str, term: str) -> None:
    read = read_options({"A": f"T2 {term} FLAIR", "B": f"FLAIR {term} T2"}, 2)
    assert read["A"].pairs == ((0, "T2"), (1, "FLAIR")) and read["B"].pairs == ((0, "FLAIR"), (1, "T2"))


def test_labels_placed_by_ordinals_and_sides_that_also_read_as_places() -> None:
    read = read_options({"A": "Left eye second, right eye first", "B": "OD then OS", "C": "The left one"}, 2)
    assert read["A"].pairs == ((1, "L"), (0, "R")) and read["B"].pairs == ((0, "R"), (1, "L"))
    assert read["C"].labels == {"laterality": "L"}


def test_an_assignment_question_is_answered_from_the_pairs(agent: Agent, tmp_path: Path) -> None:
    q = "Match each image to its MR sequence.\nA: FLAIR followed by T2\nB: T2, then FLAIR"
    answer = agent.answer(lesion_case(tmp_path, [8, 8], q, sequences=["T2", "FLAIR"]))
    assert (answer.status, answer.letter) == ("ok", "B"), answer.abstain_reason


@pytest.mark.parametrize(("text", "value"), [("T1 after contrast", "T1C"), ("T1 following gadolinium", "T1C"),
                                             ("enhanced T1 series", "T1C"), ("T1 before contrast", "T1"),
                                             ("non-contrast T1", "T1"), ("unenhanced", "T1")])
def test_contrast_phase_words_name_the_sequence(text: str, value: str) -> None:
    [intent] = read_question(f"Which image is the {text}?", {"A": "Image 1", "B": "Image 2"})
    assert (intent.kind, intent.value) == ("identify", value)


@pytest.mark.parametrize(("stem", "asserted"), [("Is the resection cavity without residual tumour?", {"gross_total"}),
                                                ("Is the operated bed free of any remnant?", {"gross_total"})])
def test_a_denied_residual_asserts_a_complete_resection(stem: str, asserted: set[str]) -> None:
    [intent] = read_question(stem, {"A": "Yes", "B": "No"})
    assert intent.kind == "resection" and intent.asserted == asserted


@pytest.mark.parametrize("stem", ["Has the consolidation in the left lower lobe improved since the prior film?",
                                  "Is the right hemithorax clearer on the later radiograph?",
                                  "How does the right lung compare between the two films?"])
def test_a_side_of_anatomy_that_one_image_shows_both_of_names_no_image(stem: str) -> None:
    from mimir.agent.planners.rules import intent_route

    parts = read_question(stem, {})
    assert all(p.kind != "identify" for p in parts)
    assert intent_route(parts, "comparison") == "measure"
    assert intent_route(read_question("Which image is the left eye?", {}), "comparison") == "identify"
