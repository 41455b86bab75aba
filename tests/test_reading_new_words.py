"""Readings that hold for words the planner was never tuned on: grammar and vocabulary, not phrases.

Every wording here is our own, apart from the paraphrase suite's templates: each test checks a kind of
reading (places written as letters, a change word qualifying a change noun, an option that leaves out
the noun the question asks about, a typo one keystroke from a clinical word), not one phrasing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import lesion_case
from fixtures.agent_tools import stand_in_registry

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.agent.entry import Agent
from mimir.agent.intents import read_question, visit_role
from mimir.agent.meaning import parts_by_quantifier, read_option
from mimir.agent.planners.quantities import asked_quantity
from mimir.memory.grammar import dates_in
from mimir.settings import Settings
from mimir.spelling import respell

RESECTION = frozenset({"gross_total", "partial"})


@pytest.mark.parametrize(("text", "n", "want"), [
    ("plate C", 3, 2), ("figure (b)", 2, 1), ("plate II", 3, 1), ("Panel D", 4, 3),  # letters and roman numerals
    ("frame4", 4, 3), ("img3", 3, 2), ("Scan2", 2, 1),  # a noun written together with its number
    ("3rd", 3, 2), ("1st.", 2, 0),  # an option that is only a place
    ("film 3", 3, 2), ("the second film", 2, 1),  # "film" is any image
    ("the slice third from the top", 4, 2), ("the image second from the right", 3, 1),
])
def test_places_written_as_letters_numerals_or_counted_from_an_end_name_images(text: str, n: int, want: int) -> None:
    assert opt.image_of(text, n) == want


@pytest.mark.parametrize("text", ["the scan I need", "a scan", "scan A and scan B", "the plain film"])
def test_words_that_only_look_like_places_name_no_one_image(text: str) -> None:
    assert opt.image_of(text, 3) is None


@pytest.mark.parametrize(("text", "want"), [("taken 05-Mar-2019", "2019-03-05"), ("dated 5/MAR/2019", "2019-03-05"),
                                            ("StudyDate 20190305", "2019-03-05")])
def test_dashed_and_compact_dates_are_dates(text: str, want: str) -> None:
    assert [str(d) for d in dates_in(text)] == [want]


def test_options_that_each_name_an_image_make_any_stem_ask_which_image() -> None:
    [intent] = read_question("At what visit did the mass peak in size?", {"A": "visit 1", "B": "visit 2", "C": "visit 3"})
    assert (intent.kind, intent.direction) == ("extreme", "more")


def test_amounts_said_against_another_image_are_a_change() -> None:
    options = {"A": "a larger amount of", "B": "a smaller amount of", "C": "an equal amount of"}
    [intent] = read_question("Set against scan 1, scan 2 shows ___ oedema.", options)
    assert intent.kind == "change"
    assert [read_option(o, 2, comparative_is_change=True).changes for o in options.values()] == [
        {"increase"}, {"decrease"}, {"stable"}]


@pytest.mark.parametrize("text", ["no appreciable interval difference", "not different from before", "no discernible trend"])
def test_a_denied_difference_or_trend_is_stability(text: str) -> None:
    assert read_option(text, 2).changes == {"stable"}


@pytest.mark.parametrize(("text", "want"), [("progressive shrinkage", "decrease"), ("steadily worsening growth", "increase"),
                                            ("regressing, then growing", None)])
def test_a_change_word_before_a_change_noun_qualifies_it(text: str, want: str | None) -> None:
    changes = read_option(text, 2).changes
    assert changes == ({want} if want else set())


@pytest.mark.parametrize(("text", "want"), [("Total", "gross_total"), ("Radical", "gross_total"), ("Not complete", "partial"),
                                            ("Near-complete", "partial"), ("Probably subtotal", "partial")])
def test_a_short_option_completes_with_the_noun_the_question_asks_about(text: str, want: str) -> None:
    assert read_option(text, 2, allowed=RESECTION, topic="resection").changes == {want}
    assert not read_option(text, 2).changes & RESECTION or want == "partial"  # no topic: "Total" alone is no resection


@pytest.mark.parametrize(("text", "want"), [("complete excision", "gross_total"), ("every bit of the tumour removed", "gross_total"),
                                            ("nearly complete removal", "partial")])
def test_resection_extents_compose_from_an_amount_and_a_removal(text: str, want: str) -> None:
    assert voc.resection_of(text) == want


def test_surgery_with_extent_options_asks_for_the_extent() -> None:
    [intent] = read_question("How thorough was the operation?", {"A": "radical removal", "B": "subtotal"})
    assert intent.kind == "resection"


def test_an_answer_word_turns_a_quantifier() -> None:
    parts = ["Has it grown since the first visit", "has it grown since the previous visit?"]
    assert [parts_by_quantifier(o, parts) for o in ("No to both", "Yes, for both", "Neither")] == [
        (False, False), (True, True), (False, False)]


@pytest.mark.parametrize(("stem", "role"), [
    ("Which exam precedes all the others?", "baseline"), ("Which exam came after all the rest?", "latest"),
    ("Which acquisition happened most early?", "baseline"), ("Which study is the most up to date?", "latest"),
    ("Before the next follow-up, show me the baseline exam: which is it?", "baseline"),
])
def test_visits_named_relative_to_all_others_or_graded(stem: str, role: str) -> None:
    [intent] = read_question(stem, {"A": "exam 1", "B": "exam 2", "C": "exam 3"})
    assert intent.kind == "when" and visit_role(stem) == role


def test_a_degree_word_before_a_time_word_asks_for_a_visit_not_a_quantity() -> None:
    assert asked_quantity("Which study has the most recent acquisition date?") is None
    assert asked_quantity("Which image has the largest file size?") == ("file size", "more")


def test_a_label_denied_before_a_dash_asks_for_the_other_image() -> None:
    [intent] = read_question("The T2 one is wrong - select the remaining image", {"A": "image 1", "B": "image 2"})
    assert (intent.kind, intent.negated, intent.value) == ("identify", True, "T2")


@pytest.mark.parametrize(("stem", "asserted"), [("Is the haematoma the same size as on the earlier CT?", {"stable"}),
                                                ("Is there less oedema than before?", {"decrease"})])
def test_a_comparative_yes_no_question_asserts_a_change(stem: str, asserted: set[str]) -> None:
    [intent] = read_question(stem, {"A": "yes", "B": "no"})
    assert intent.kind == "change" and intent.asserted == asserted


def test_when_options_are_changes_a_time_word_is_context_not_the_question() -> None:
    options = {"A": "It reads larger than before.", "B": "It reads smaller than before.", "C": "It reads the same as before."}
    [intent] = read_question("Which statement describes the latest scan?", options)
    assert intent.kind == "change"


def test_one_image_label_option_fits_when_that_image_has_the_label() -> None:
    read = read_option("Right eye shown second", 2)
    assert read.pairs == ((1, "R"),) and read.images == (1,)


@pytest.mark.parametrize(("text", "concept", "want"), [
    ("T1-w w/ gado", "sequence", "T1C"), ("T1 w/o Gd", "sequence", "T1"), ("T2 with CSF suppression", "sequence", "FLAIR"),
    ("fluid-nulled T2", "sequence", "FLAIR"), ("T1 + CM", "sequence", "T1C"), ("the O.S. photo", "laterality", "L"),
    ("a CFP", "modality", "OP"),
])
def test_shorthand_for_sequences_sides_and_photographs(text: str, concept: str, want: str) -> None:
    assert voc.values_in(text, concept) == [want]


def test_dotted_abbreviations_keep_their_case_rule() -> None:
    assert voc.side_of("Is it o.d.?") is None and voc.side_of("Is it O.D.?") == "R"


@pytest.mark.parametrize(("text", "want"), [("Is the hematoma stabel?", "Is the hematoma stable?"),
                                            ("Has the lesoin enlargd?", "Has the lesion enlarged?")])
def test_a_typo_one_keystroke_from_a_clinical_word_is_read_as_it(text: str, want: str) -> None:
    assert respell(text)[0] == want


@pytest.mark.parametrize("text", ["Is the tumour stale?", "Which letter?", "The TIRM image", "Is the lesion lager?"])
def test_english_words_capitals_and_ambiguous_typos_are_left_as_written(text: str) -> None:
    assert respell(text) == (text, [])


@pytest.mark.parametrize(("radii", "letter"), [([9, 14], "A"), ([14, 9], "B")])
def test_a_mistyped_yes_no_question_is_answered_and_says_how_it_was_read(settings: Settings, tmp_path: Path,
                                                                         radii: list[float], letter: str) -> None:
    q = "Has the lesoin grwon since the first scan?\nA: Yes it has\nB: No it has not"
    answer = Agent(settings, registry=stand_in_registry()).answer(lesion_case(tmp_path, radii, q))
    assert answer.letter == letter, answer.abstain_reason
    assert any("'grwon' as 'grown'" in e.statement for e in answer.evidence)


def test_one_label_said_twice_in_other_words_is_that_label_not_an_assignment() -> None:
    read = read_option("Right, O.D.", 2)
    assert read.pairs == () and read.labels == {"laterality": "R"}
    assert read_option("O.D., then O.S.", 2).pairs == ((0, "R"), (1, "L"))


def test_the_numero_sign_is_no_answer_and_a_numbered_image_is_a_place() -> None:
    assert voc.answer_of("No. 2") is None and voc.answer_of("No, it did not") is False
    assert opt.image_of("the image numbered 2", 3) == 1


@pytest.mark.parametrize(("text", "want"), [("PIC-2", 1), ("frame-3", 2), ("Nr. 3", 2), ("#1", 0)])
def test_a_noun_hyphenated_to_its_number_or_a_numbered_option_names_that_image(text: str, want: int) -> None:
    assert opt.image_of(text, 3) == want


@pytest.mark.parametrize("text", ["no 2 lesions", "3", "images 1-3"])
def test_bare_numbers_and_ranges_name_no_one_image(text: str) -> None:
    assert opt.image_of(text, 3) is None


@pytest.mark.parametrize("stem", ["Is the haematoma denser on the later CT?", "Is the mass more prominent than before?"])
def test_a_comparative_of_appearance_asserts_no_size_change(stem: str) -> None:
    [intent] = read_question(stem, {"A": "yes", "B": "no"})
    assert not intent.asserted


@pytest.mark.parametrize("cue", ["anything but", "everything but", "instead of", "in place of", "different from",
                                 "distinct from"])
def test_a_label_set_apart_by_an_exclusion_cue_asks_for_the_other_image(settings: Settings, tmp_path: Path,
                                                                        cue: str) -> None:
    """"anything but the FLAIR" asks for the image that is not the FLAIR; read as "the FLAIR" it would be
    a confident wrong answer. The cue reaches the planner's decision through the one negation table."""
    q = f"You want the sequence {cue} the FLAIR: which picture is it?\nA: picture 1\nB: picture 2"
    answer = Agent(settings, registry=stand_in_registry()).answer(lesion_case(tmp_path, [8, 8], q, sequences=["T1", "FLAIR"]))
    assert answer.letter == "A", (answer.letter, answer.abstain_reason)
    plain = "You want the FLAIR sequence: which picture is it?\nA: picture 1\nB: picture 2"
    assert Agent(settings, registry=stand_in_registry()).answer(
        lesion_case(tmp_path, [8, 8], plain, sequences=["T1", "FLAIR"])).letter == "B"
