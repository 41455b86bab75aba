"""The planner reads questions and options by meaning: every vocabulary word it relies on reaches a decision.

Intents (:mod:`mimir.agent.intents`) and option meanings (:mod:`mimir.agent.meaning`) are read
through the one vocabulary; these tests take each term of the concepts the planner reads and check
the decision it leads to (an option's change category, a question's direction, where a compound
question splits, which quantity is asked).
"""

from __future__ import annotations

import re

import pytest

from mimir import vocabulary as voc
from mimir.agent.intents import read_question, split_parts
from mimir.agent.meaning import read_option, read_options
from mimir.agent.planners.base import PlanView
from mimir.agent.planners.frame import frame_of
from mimir.agent.planners.quantities import asked_quantity
from mimir.agent.state import TimelineSummary
from mimir.domain import Case, CaseImage, ParsedQuestion
from mimir.memory.resolver import resolve

TABLE = voc.vocabulary().table


def _terms(concept: str) -> list[tuple[str, str]]:
    """(value, a phrase its term reads): a starred ending completed, a gap ("different ... from") filled with a noun phrase."""
    return [(v, re.sub(r"\*", "", t).replace(" ... ", " in size ")) for v, e in TABLE[concept].items()
            for t in (*e.terms, *e.abbreviations)]


@pytest.mark.parametrize(("value", "term"), _terms("change") + _terms("resection"),
                         ids=[f"{v}:{t}" for v, t in _terms("change") + _terms("resection")])
def test_change_words_make_an_option_assert_their_category(value: str, term: str) -> None:
    changes = read_option(f"{term}.", 2).changes
    if voc.find(term, "negation"):  # "has not grown" denies an increase: stable or smaller
        assert value in changes and len(changes) < 3, changes
    else:
        assert changes == {value}


@pytest.mark.parametrize(("value", "term"), _terms("superlative"), ids=[t for _, t in _terms("superlative")])
def test_superlatives_ask_for_the_image_with_most_or_least(value: str, term: str) -> None:
    options = {"A": "Image 1", "B": "Image 2", "C": "Image 3"}
    [intent] = read_question(f"Which image shows the {term} tumour burden?", options)
    assert intent.kind == "extreme" and intent.direction == ("more" if value == "most" else "less")


@pytest.mark.parametrize(("value", "term"), [(v, t) for v, t in _terms("comparative") if v != "equal"],
                         ids=[t for v, t in _terms("comparative") if v != "equal"])
def test_comparatives_ask_for_the_image_with_more_or_less(value: str, term: str) -> None:
    [intent] = read_question(f"Which scan has the {term} tumour burden?", {"A": "Image 1", "B": "Image 2"})
    assert intent.kind == "extreme" and intent.direction == value


@pytest.mark.parametrize(("value", "term"), _terms("comparative"), ids=[t for _, t in _terms("comparative")])
def test_comparative_options_read_as_a_change_when_a_later_image_is_set_against_an_earlier(value: str, term: str) -> None:
    want = {"more": "increase", "less": "decrease", "equal": "stable"}[value]
    meaning = read_option(term, 2, comparative_is_change=True)
    assert want in meaning.changes or meaning.changes and meaning.changes <= {want}


@pytest.mark.parametrize(("value", "term"), _terms("auxiliary"), ids=[t for _, t in _terms("auxiliary")])
def test_question_verbs_after_a_joiner_start_a_second_question(value: str, term: str) -> None:
    stem = f"Which image is the left eye, and {term} it exudates?"
    assert split_parts(stem) == ["Which image is the left eye", f"{term} it exudates?"]
    assert len(split_parts(f"Which image is the left {term} eye?")) == 1


@pytest.mark.parametrize(("value", "term"), _terms("holds"), ids=[t for _, t in _terms("holds")])
def test_holding_verbs_ask_which_image_has_more_of_a_quantity(value: str, term: str) -> None:
    assert asked_quantity(f"Which image {term} the larger file size?") == ("file size", "more")


@pytest.mark.parametrize(("stem", "asserted"), [
    ("Has the tumour grown since the prior?", {"increase"}),
    ("Is it correct that the tumour has not grown since the prior scan?", {"decrease", "stable"}),
    ("Is the lesion unchanged relative to the earlier study?", {"stable"}),
    ("Is it fair to say the mass has not responded?", {"increase", "stable"}),
])
def test_yes_no_questions_assert_the_change_they_ask_about(stem: str, asserted: set[str]) -> None:
    [intent] = read_question(stem, {"A": "Yes", "B": "No"})
    assert intent.kind == "change" and intent.asserted == asserted


def test_negated_identify_and_compound_questions() -> None:
    [intent] = read_question("Which image is not the FLAIR?", {"A": "Image 1", "B": "Image 2"})
    assert (intent.kind, intent.negated, intent.value) == ("identify", True, "FLAIR")
    parts = read_question("Which image is the left eye, and does it show exudates?", {"A": "Image 1; yes"})
    assert [p.kind for p in parts] == ["identify", "visual"]


def test_options_naming_image_label_pairs_and_yes_no_parts() -> None:
    read = read_options({"A": "Image 1 is the FLAIR; image 2 is the T1+C", "B": "Image 1 is the T1+C; image 2 is the FLAIR"}, 2)
    assert read["A"].pairs == ((0, "FLAIR"), (1, "T1C")) and read["B"].pairs == ((0, "T1C"), (1, "FLAIR"))
    assert read_option("Yes since baseline, but not since the prior", 2).parts == (True, False)


@pytest.mark.parametrize(("value", "term"), _terms("reference_cue"), ids=[t for _, t in _terms("reference_cue")])
def test_reference_cues_make_the_image_after_them_the_reference(value: str, term: str) -> None:
    stem = f"Is the tumour on image 1 larger {term} image 2?"
    case = Case(question=stem + "\nA: Yes\nB: No", images=[CaseImage(path=f"/i{k}.png") for k in range(2)])
    view = PlanView(case=case, question=ParsedQuestion(stem=stem, options={"A": "Yes", "B": "No"}), ability="comparison",
                    resolution=resolve(case), timeline=TimelineSummary(), records=[], available=frozenset(),
                    vlm_configured=False)
    assert frame_of(view).order == [1, 0]  # image 1 is measured against image 2


@pytest.mark.parametrize("stem", ["Is any enhancing tumour left after surgery?",
                                  "Does enhancing tumour remain on the post-operative scan?"])
def test_presence_after_surgery_asks_about_residual_tumour(stem: str) -> None:
    [intent] = read_question(stem, {"A": "Yes", "B": "No"})
    assert intent.kind == "resection" and intent.asserted == {"partial"}
    [negated] = read_question("Is there no tumour on the postoperative scan?", {"A": "Yes", "B": "No"})
    assert negated.asserted == {"gross_total"}


def test_options_naming_changes_make_a_change_question() -> None:
    [intent] = read_question("What happened to the mass?", {"A": "it expanded", "B": "it diminished", "C": "no change"})
    assert intent.kind == "change"


@pytest.mark.parametrize("when", ["on 5 March 2021", "in March 2021", "on 2021-03-05", "in 2021", "most recently"])
def test_dates_and_recency_ask_which_image_was_taken_when(when: str) -> None:
    [intent] = read_question(f"Which image was acquired {when}?", {"A": "Image 1", "B": "Image 2"})
    assert intent.kind == "when"


def test_a_reading_by_meaning_that_contradicts_the_options_words_is_set_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    from mimir.agent import prototypes
    from mimir.agent.meaning import doubts

    # Stand-in for the sentence embedder's verdict (the real one is used everywhere else): a reading
    # that the option's own comparative contradicts must not be taken, and the reason must say why.
    monkeypatch.setattr(prototypes, "closest_change", lambda text, allowed: ("increase", 0.2))
    meaning = read_option("a lower figure overall", 2)
    assert meaning.changes == frozenset() and "words say decrease" in (meaning.doubt or "")
    assert read_option("a heavier picture overall", 2).changes == {"increase"}  # words and meaning agree
    monkeypatch.setattr(prototypes, "closest", lambda text, values: ("T2", 0.3))
    read = read_options({"A": "T1 weighted, series a", "B": "T1 weighted, series b"}, 2)
    assert "sequence" not in read["A"].labels and "words say T1" in doubts(read)


@pytest.mark.parametrize("stem", ["Only one of the two images is the FLAIR; select the one that isn't.",
                                  "One image is the FLAIR. Choose the one which is not.",
                                  "Exactly one of these scans is the FLAIR; which one doesn't?"])
def test_an_elliptical_negation_asks_for_the_image_that_is_not_the_premise_label(stem: str) -> None:
    [intent] = read_question(stem, {"A": "Image 1", "B": "Image 2"})
    assert (intent.kind, intent.negated, intent.value) == ("identify", True, "FLAIR")


def test_a_negation_with_a_complement_is_not_elliptical() -> None:
    assert not voc.ends_negated("Which image is not the FLAIR?")
    assert voc.ends_negated("Pick the one that isn't.") and voc.ends_negated("Which one is not?")


@pytest.mark.parametrize("stem", ["What sequence does scan no. 2 show?", "What sequence is study No 2?",
                                  "What sequence is image nr. 2?"])
def test_the_numero_sign_names_an_image_and_is_no_negation(stem: str) -> None:
    [intent] = read_question(stem, {"A": "FLAIR", "B": "T2"})
    assert (intent.kind, intent.negated) == ("attribute", False)
    images = [{"path": f"/i{k}.png"} for k in range(3)]
    assert [b.image_indices for b in resolve(Case(question=stem, images=images)).bindings] == [[1]]


def test_labels_joined_by_and_are_an_assignment_in_order() -> None:
    read = read_options({"A": "the first is the FLAIR and the second the T1", "B": "OD and OS"}, 2)
    assert read["A"].pairs == ((0, "FLAIR"), (1, "T1")) and read["B"].pairs == ((0, "R"), (1, "L"))


@pytest.mark.parametrize(("stem", "asserted"), [
    ("Has the mass changed in size since the prior?", {"increase", "decrease"}),
    ("Did the mass stay the same between the two visits?", {"stable"}),
])
def test_change_verbs_without_a_direction_assert_any_change(stem: str, asserted: set[str]) -> None:
    [intent] = read_question(stem, {"A": "Yes", "B": "No"})
    assert intent.kind == "change" and intent.asserted == asserted


@pytest.mark.parametrize(("stem", "kind"), [("Which image was taken first in time?", "when"),
                                            ("Where is the mass more extensive?", "extreme")])
def test_time_order_words_and_where_ask_which_image(stem: str, kind: str) -> None:
    [intent] = read_question(stem, {"A": "Image 1", "B": "Image 2"})
    assert intent.kind == kind


@pytest.mark.parametrize(("stem", "parts"), [
    ("Compared with the first scan, and separately with the scan just before the current one, has the mass grown?",
     ["Compared with the first scan, has the mass grown?",
      "Compared with the scan just before the current one, has the mass grown?"]),
    ("Is the mass larger vs baseline? And vs the prior?", ["Is the mass larger vs baseline?", "Is the mass larger vs the prior?"]),
    ("Is the lesion on image 1 larger than on image 2?", ["Is the lesion on image 1 larger than on image 2?"]),
])
def test_one_change_asked_of_coordinated_references_is_one_part_per_reference(stem: str, parts: list[str]) -> None:
    intents = read_question(stem, {"A": "Yes to both", "B": "Neither"})
    assert [i.text for i in intents] == parts and all(i.kind == "change" and i.asserted for i in intents)


def test_a_denied_amount_of_two_images_asks_for_the_other_and_of_three_is_unread() -> None:
    [two] = read_question("On which exam is the mass not the larger of the two?", {"A": "exam 1", "B": "exam 2"})
    assert (two.kind, two.direction, two.frame) == ("extreme", "less", "plain")
    [three] = read_question("Which scan does not show the largest lesion?", {"A": "scan 1", "B": "scan 2", "C": "scan 3"})
    assert three.frame == "unread" and three.why


@pytest.mark.parametrize("stem", ["Leave out the FLAIR. Which image remains?", "Ignoring the FLAIR, which image is it?",
                                  "Exclude the FLAIR: which scan is that?"])
def test_a_label_set_aside_by_the_question_is_not_the_target(stem: str) -> None:
    [intent] = read_question(stem, {"A": "Image 1", "B": "Image 2"})
    assert (intent.kind, intent.negated, intent.value) == ("identify", True, "FLAIR")
    [left] = read_question("Disregard the FLAIR; which is left?", {"A": "Image 1", "B": "Image 2"})
    assert (left.kind, left.value) != ("identify", "FLAIR")  # "left" may be a side: no reading, never the FLAIR


@pytest.mark.parametrize(("option", "cued"), [
    ("smaller than the first", True), ("bigger compared with image 1", True), ("larger vs the prior", True),
    ("larger on the second", False), ("larger on the later scan (from 12 to 15 mm)", False),
])
def test_an_image_is_the_reference_only_right_after_a_comparison_cue(option: str, cued: bool) -> None:
    from mimir.agent.ellipsis import compares_with_image

    assert compares_with_image(option) is cued
