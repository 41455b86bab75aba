"""More kinds of misreading that gave confident wrong answers or needless abstentions, each in words of its own.

- "the number two scan" is the second scan, not two scans.
- An intensifier before a graded word ("the most smallest", "more bigger") leaves the word's direction.
- Denials written without an apostrophe ("isnt"), and parentheses that only deny ("the T2 (not the FLAIR)").
- A premise clause before the asking clause ("Given that image 1 is the FLAIR, which image is the T2?"):
  the asking clause's own label is the one asked for; "the other sequence" denies the premise's.
- A change category in time runs from the earlier image to the later whichever image a cue marks.
- Verbs of becoming with a plain size word ("became small", "got bigger"); "growed".
- Answers denied by an auxiliary ("Do not concur"); "left" as what remains; a weighting dictated in words.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import answered

from mimir import vocabulary as voc
from mimir.agent.intents import read_question
from mimir.agent.meaning import read_options
from mimir.domain import CaseImage
from mimir.memory.resolver import resolve_text
from mimir.settings import Settings
from mimir.spelling import respell

PNG = [CaseImage(path=f"/x/img{i}.png") for i in range(3)]
IMAGES = {"A": "image 1", "B": "image 2"}


@pytest.mark.parametrize(("text", "want"), [("the number two scan", [1]), ("the number 3 study", [2]), ("the #1 film", [0])])
def test_number_before_a_numeral_and_a_noun_is_a_place(text: str, want: list[int]) -> None:
    [hit] = resolve_text(text, PNG)
    assert hit.indices == want and not hit.ambiguous, hit.reason


@pytest.mark.parametrize(("text", "value"), [("the most smallest bleed", "least"), ("the most largest mass", "most")])
def test_an_intensifier_before_a_superlative_leaves_its_direction(text: str, value: str) -> None:
    assert [m.value for m in voc.find(text, "superlative", "comparative")] == [value]


@pytest.mark.parametrize(("radii", "letter"), [([12, 8, 14], "B"), ([7, 12, 14], "A")])
def test_the_most_smallest_is_the_smallest(settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "In which image the tumour is the most smallest?\nA: image 1\nB: image 2\nC: image 3"
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


def test_denials_without_apostrophe_and_denying_parentheses() -> None:
    [isnt] = read_question("One of them is the FLAIR - which one isnt?", IMAGES)
    assert (isnt.kind, isnt.negated, isnt.value) == ("identify", True, "FLAIR")
    [aside] = read_question("Which image is the T2 (not the FLAIR)?", IMAGES)
    assert (aside.kind, aside.negated, aside.value) == ("identify", False, "T2")


def test_the_asking_clause_names_the_label_asked_for() -> None:
    [own] = read_question("Supposing image 1 is the FLAIR, which image is the T2?", IMAGES)
    assert (own.kind, own.negated, own.value) == ("identify", False, "T2")
    [other] = read_question("Given that one of the two is the T1, which image shows the other sequence?", IMAGES)
    assert (other.kind, other.negated, other.value) == ("identify", True, "T1")


@pytest.mark.parametrize(("radii", "letter"), [([10, 14, 9], "B"), ([10, 9, 14], "A")])
def test_a_change_in_time_runs_forward_whichever_image_the_cue_marks(settings: Settings, tmp_path: Path,
                                                                     radii: list[float], letter: str) -> None:
    q = ("Three visits in date order. Taking scan 2 versus scan 3 only, the interval change is:\n"
         "A: interval increase\nB: interval decrease\nC: no interval change")
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


def test_becoming_with_a_size_word_is_a_change() -> None:
    read = read_options({"A": "It got bigger", "B": "It became small", "C": "It growed", "D": "It turned tiny"}, 2,
                        comparative_is_change=True)
    assert {k: set(v.changes) for k, v in read.items()} == {"A": {"increase"}, "B": {"decrease"}, "C": {"increase"},
                                                            "D": {"decrease"}}


@pytest.mark.parametrize(("text", "want"), [("Do not concur", False), ("I don't agree", False), ("Concur", True)])
def test_an_answer_denied_by_an_auxiliary_is_a_no(text: str, want: bool) -> None:
    assert voc.answer_of(text) is want


def test_left_as_what_remains_and_as_the_side() -> None:
    [residual] = read_question("Any enhancing tumour left?", {"A": "Yes", "B": "No"})
    assert residual.kind == "resection" and residual.asserted == {"partial"}
    [side] = read_question("Which eye is left?", IMAGES)
    assert (side.kind, side.value) == ("identify", "L")


def test_a_weighting_dictated_in_words_reads_as_written_in_digits() -> None:
    text, changed = respell("Is image one the T two weighted or the T-one?")
    assert text == "Is image one the T2 weighted or the T1?" and len(changed) == 2


def test_an_idiom_with_the_other_names_no_image() -> None:
    hits = resolve_text("Seen the other way round, is the mass on image 1 larger than on image 2?", PNG[:2])
    assert [h.indices for h in hits] == [[0], [1]]


def test_a_predicate_said_again_for_a_second_reference_makes_two_parts() -> None:
    from mimir.agent.ellipsis import distribute

    assert distribute("On scan 3, is the mass larger than on scan 1, and larger than on scan 2?") == [
        "On scan 3, is the mass larger than on scan 1?", "On scan 3, is the mass larger than on scan 2?"]
    assert len(distribute("Is the mass on scan 3 larger than on scan 1 and smaller than on scan 2?")) == 1


def test_an_elliptical_part_with_a_restating_parenthesis_and_lettered_parts() -> None:
    three = {"A": "(a) yes; (b) yes", "B": "(a) yes; (b) no"}
    parts = read_question("Tumour grown since baseline? and since the prev scan (the middle one)? answer both", three, 3)
    assert [(p.kind, set(p.asserted)) for p in parts] == [("change", {"increase"})] * 2
    assert "prev scan?" in parts[1].text
    lettered = read_question("Two questions: (a) is the mass larger on scan 3 than on scan 1, and (b) is it larger "
                             "on scan 3 than on scan 2?", three, 3)
    assert len(lettered) == 2 and all(p.kind == "change" for p in lettered)


def test_a_plain_size_word_after_more_makes_a_size_comparison() -> None:
    [part] = read_question("Is it more big on the newest scan than on the first one?", {"A": "Yes", "B": "No"}, 3)
    assert (part.kind, set(part.asserted)) == ("change", {"increase"})


@pytest.mark.parametrize(("text", "want"), [("slide 3", [2]), ("TP2", [1]), ("time point 1", [0])])
def test_slides_and_timepoints_name_images(text: str, want: list[int]) -> None:
    [hit] = resolve_text(text, PNG)
    assert hit.indices == want, hit.reason


def test_than_the_last_panel_is_the_last_shown_and_than_the_last_scan_the_prior() -> None:
    assert [h.indices for h in resolve_text("more than the last panel", PNG)] == [[2]]
    assert [h.indices for h in resolve_text("larger than on the last scan", PNG)] == [[1]]


@pytest.mark.parametrize(("radii", "letter"), [([8, 13], "A"), ([13, 8], "B")])
def test_compare_with_marks_the_reference_of_an_option_said_of_the_first(settings: Settings, tmp_path: Path,
                                                                         radii: list[float], letter: str) -> None:
    q = ("How does the tumour on plate 1 compare with that on plate 2?\nA: Plate 1 has less than plate 2\n"
         "B: Plate 1 has more than plate 2\nC: Both about equal")
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


def test_an_identity_word_gives_no_direction_and_label_options_ask_no_date() -> None:
    [extreme] = read_question("Two scans of the same man. Which one shows the greater tumour burden?", IMAGES)
    assert (extreme.kind, extreme.direction) == ("extreme", "more")
    [side] = read_question("Both photos were taken at today's visit. Which side is the photo in position 2?",
                           {"A": "Right (OD)", "B": "Left (OS)"}, 2)
    assert side.kind == "attribute"
    [aside] = read_question("Given one of the two is the T2 (non-FLAIR), which image is the other sequence?", IMAGES)
    assert (aside.negated, aside.value) == (True, "T2")
