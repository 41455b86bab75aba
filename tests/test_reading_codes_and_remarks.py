"""Readings of form-like and conversational questions: coded options, remarks before the question, short answers.

Each test checks a kind of reading with wording of our own: options that are codes a legend in the stem
defines (data-abstraction forms), an opening remark about the asker that is no part of the question,
a history before the asking sentence, answers made of a subject and its auxiliary, and a few words
(dates with "the" before the day, "gone smaller", "more new").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import answered

from mimir import vocabulary as voc
from mimir.agent.intents import read_question
from mimir.agent.meaning import option_changes, read_option
from mimir.agent.question_parts import split_parts
from mimir.code_legend import decode
from mimir.domain import parse_question
from mimir.memory.dates import dates_in
from mimir.settings import Settings


@pytest.mark.parametrize(("stem", "options", "want"), [
    ("Score the mass: 1 = larger, 2 = smaller, 3 = same.", {"A": "3", "B": "1", "C": "2"},
     {"A": "same", "B": "larger", "C": "smaller"}),
    ("Enter Y if the lesion grew between scan 1 and scan 2, N if not.", {"A": "N", "B": "Y"},
     {"A": "not", "B": "the lesion grew between scan 1 and scan 2"}),
    ("Key (1 -> right eye, 2 -> left eye): which eye is frame 2?", {"A": "1", "B": "2"},
     {"A": "right eye", "B": "left eye"}),
])
def test_codes_defined_in_the_stem_are_read_as_their_meanings(stem: str, options: dict[str, str], want: dict[str, str]) -> None:
    assert decode(stem, options) == want


@pytest.mark.parametrize(("stem", "options"), [
    ("Which scan is larger, 1 or 2?", {"A": "1", "B": "2"}),  # no legend
    ("Image 1: baseline, image 2: follow-up. Which is larger?", {"A": "1", "B": "2"}),  # numbers of images, no codes
    ("Code 1 = larger. Which applies?", {"A": "1", "B": "0"}),  # a code left without a meaning
    ("Code 1 = larger, 1 = smaller.", {"A": "1", "B": "2"}),  # one code given two meanings
    ("Is it larger? Y/N", {"A": "Y", "B": "N"}),  # the codes are named, not defined
])
def test_options_stay_as_written_without_a_legend_for_every_code(stem: str, options: dict[str, str]) -> None:
    assert decode(stem, options) == options


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "B"), ([12, 6], "C"), ([8, 8], "A")])
def test_a_coded_change_is_answered_by_the_code_that_means_it(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "Form item 4: lesion size from scan 1 to scan 2. Code 0 = no change, 1 = bigger, 2 = smaller.\nA: 0\nB: 1\nC: 2"
    assert parse_question(q).options == {"A": "no change", "B": "bigger", "C": "smaller"}
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "A"), ([12, 6], "B"), ([8, 8], "A")])
def test_a_conditional_code_is_answered_by_the_condition_that_holds(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = ("Put 1 if the mass did not shrink from scan 1 to scan 2, or 2 if it shrank.\nA: 1\nB: 2")
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("stem", "parts"), [
    ("Apologies if this is obvious, but which frame shows the larger mass?", ["which frame shows the larger mass?"]),
    ("I may have misunderstood the report, but has the mass grown?", ["has the mass grown?"]),
    ("Frame 1 is the FLAIR, and which frame is the T2?", ["Frame 1 is the FLAIR", "which frame is the T2?"]),  # a premise
])
def test_an_opening_remark_about_the_asker_is_no_part_of_the_question(stem: str, parts: list[str]) -> None:
    assert split_parts(stem) == parts


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "B"), ([12, 6], "B"), ([8, 8], "A")])
def test_the_asking_sentence_says_the_change_a_history_before_it_does_not(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    """"new headache" in the history names no change of the mass; "stable" in the question does."""
    q = "Known mass, new headache and vomiting. Scan 1 = prior, scan 2 = today. Mass stable vs prior?\nA: Y\nB: N"
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("text", "want"), [
    ("They did.", True), ("She hasn't", False), ("We did, yes", True), ("It has not, no.", False),
    ("They did, no", None),  # says both
    ("It has grown", None),  # a statement, not a short answer
])
def test_a_subject_and_its_auxiliary_alone_answer_yes_or_no(text: str, want: bool | None) -> None:
    assert voc.answer_of(text) is want


def test_a_yes_that_names_every_image_chooses_none_of_them() -> None:
    assert read_option("Yes, both scans show that", 2).images == ()
    assert read_option("Yes, scan 2", 2).images == (1,)


@pytest.mark.parametrize(("text", "want"), [("March the 3rd, 2020", "2020-03-03"), ("on June the 30th 2018", "2018-06-30")])
def test_the_before_the_day_of_a_date(text: str, want: str) -> None:
    [spec] = dates_in(text)
    assert f"{spec.year}-{spec.month:02d}-{spec.day:02d}" == want


@pytest.mark.parametrize(("text", "want"), [("it went smaller", {"decrease"}), ("has gone bigger", {"increase"}),
                                            ("it is gone", {"resolved"}), ("it got more small", {"decrease"}),
                                            ("became more little", {"decrease"}), ("became more", {"increase"})])
def test_going_with_a_size_word_is_a_change_of_size_and_alone_a_disappearance(text: str, want: set[str]) -> None:
    assert option_changes(text) == want


@pytest.mark.parametrize(("question", "n", "kind"), [
    ("Of the two frames, which is the more new one?", 2, "when"), ("Which is the older?", 2, "when"),
    ("Which of the two was more recent?", 2, "when"),
    ("Which is the newer one?", 3, "when"),  # of three images, read as the newest
    ("Which is newer than frame 2?", 3, "visual"),  # compared with a named image: a relation, not the newest
    ("Which frame shows the newer lesion?", 2, "visual"),  # a lesion's age, not a visit
])
def test_the_newer_or_older_one_is_a_visit_at_an_end_of_the_series(question: str, n: int, kind: str) -> None:
    options = {chr(65 + i): f"frame {i + 1}" for i in range(n)}
    assert read_question(question, options, n)[0].kind == kind


@pytest.mark.parametrize(("question", "letter"), [
    ("Which study was done last May 1st 2019?\nA: image 3\nB: image 2\nC: image 1", "B"),  # the date's "last"
    ("Which study was done last?\nA: image 3\nB: image 2\nC: image 1", "A"),  # the latest
])
def test_last_before_a_date_places_the_date_in_the_answer_too(settings: Settings, tmp_path: Path, question: str,
                                                              letter: str) -> None:
    import datetime as dt

    from fixtures.agent_cases import lesion_case
    from fixtures.agent_tools import stand_in_registry

    from mimir.agent.entry import Agent

    case = lesion_case(tmp_path, [8, 8, 8], question)
    for i, image in enumerate(case.images):
        image.study_date = dt.date(2019, 2 + 3 * i, 1)
    assert Agent(settings, registry=stand_in_registry()).answer(case).letter == letter


@pytest.mark.parametrize(("text", "want"), [("img_01", 0), ("IMG_0003", 2), ("image_2", 1), ("scan-02", 1)])
def test_file_like_image_names_with_padded_numbers_name_their_image(text: str, want: int) -> None:
    from mimir.agent import options as opt

    assert opt.image_of(text, 3) == want


@pytest.mark.parametrize(("text", "want"), [("Stationary", {"stable"}), ("In augmentation", {"increase"})])
def test_calqued_change_words(text: str, want: set[str]) -> None:
    assert option_changes(text) == want


@pytest.mark.parametrize(("text", "want"), [("Pass", True), ("Fail", False), ("Confirm", True), ("Reject", False)])
def test_a_rule_checked_or_a_statement_confirmed_is_answered_by_its_verb(text: str, want: bool) -> None:
    assert voc.answer_of(text) is want


def test_the_most_fresh_study_is_the_latest() -> None:
    assert voc.time_of("Which of these studies is the most fresh?") == "latest"


@pytest.mark.parametrize(("sequences", "letter"), [(["FLAIR", "T1C"], "A"), (["T1C", "FLAIR"], "B"), (["FLAIR", "T2"], None)])
def test_an_assignment_to_confirm_is_answered_by_the_labels_found(
        settings: Settings, tmp_path: Path, sequences: list[str], letter: str | None) -> None:
    """Stated as is: yes; the other way round: no; neither: an abstention, never a guess."""
    q = ("For the record: frame 1 is the FLAIR and frame 2 the post-contrast T1, right, or have I mixed them up?"
         "\nA: Correct as stated\nB: Swapped")
    assert answered(settings, tmp_path, [8, 8], q, sequences=sequences).letter == letter


@pytest.mark.parametrize(("stem", "parts"), [
    ("Tell me whether the mass on scan 3 is larger than on scan 1 and whether it is larger than on scan 2",
     ["Tell me whether the mass on scan 3 is larger than on scan 1", "whether it is larger than on scan 2"]),
    ("Which eye is frame 2: OD or OS? Thoughts?", ["Which eye is frame 2: OD or OS?"]),  # a request for an opinion asks nothing more
])
def test_embedded_questions_each_count_and_a_bare_request_for_an_opinion_does_not(stem: str, parts: list[str]) -> None:
    assert split_parts(stem) == parts


def test_an_image_named_twice_in_one_option_is_that_image() -> None:
    assert read_option("Frame 2, the newer one", 2).images == (1,)
    assert read_option("Frame 2 and frame 1", 2).images == ()


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "A"), ([8, 8], "B"), ([12, 6], "C")])
def test_what_a_lesion_has_done_asks_its_change_and_the_choices_after_it_are_the_same_question(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = ("My scans are on here, the old one first and the new one second. What has the mass done? Bigger, smaller or no "
         "different?\nA: Bigger now\nB: The same as before\nC: Smaller now")
    assert answered(settings, tmp_path, radii, q).letter == letter


def test_they_got_it_all_is_a_gross_total_resection() -> None:
    assert option_changes("They got it all") == {"gross_total"}


def test_an_option_naming_a_label_is_no_attribute_question_unless_another_offers_one_too() -> None:
    """"Code 1 if exudates are present on the left eye, 0 if absent" asks about exudates, not which side."""
    [intent] = read_question("Code 1 if exudates are present on this photo of the left eye, 0 if absent.",
                             {"A": "exudates are present on this photo of the left eye", "B": "absent"}, 1)
    assert intent.kind != "attribute"
    [side] = read_question("What side is frame 2?", {"A": "Left", "B": "Right"}, 2)
    assert side.kind == "attribute"
