"""Readings added for formal, trial and shorthand wording: spans, asides, denied pairs, visits named by look-up words.

- "till", "until", "thru" span images as "to" does ("from the first till the last").
- Denying both directions ("neither larger nor smaller") asserts stability.
- A passive exclusion keeps its long subject across an aside ("whether growth, as between ..., can be excluded").
- A set-aside in brackets after two images a question names itself repeats them ("frame 2 vs frame 3 (skip frame 1)").
- An order said with a time word and an ordinal ("oldest first", "the newest last") names no image.
- A series letter hyphened to a number ("exhibit A-2") names the image by the number;
- "exhibit" names an image; "imaging" names a study; "incr"/"decr" are shorthand changes; "nil" negates.
- A look-up phrase governed by a comparison cue names a visit ("since the prior imaging"), not a look-up.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import answered

from mimir import vocabulary as voc
from mimir.agent.meaning import option_changes
from mimir.domain import CaseImage
from mimir.memory.resolver import resolve_text
from mimir.settings import Settings

IMAGES = [CaseImage(path=f"/x/img{i}.png") for i in range(4)]


@pytest.mark.parametrize(("text", "indices"), [("from the first till the last", [0, 1, 2, 3]),  # a range, as with numbers
                                               ("frames 2 thru 4", [1, 2, 3]),
                                               ("from the second until the fourth", [1, 2, 3]),
                                               ("exhibit 3", [2]), ("exhibits 1 and 2", [0, 1]),
                                               ("exhibit A-2", [1]), ("image C-3", [2]), ("panel B", [1])])
def test_spans_and_exhibits_bind_their_images(text: str, indices: list[int]) -> None:
    hits = resolve_text(text, IMAGES)
    assert [h.indices for h in hits] == [indices], hits


@pytest.mark.parametrize(("option", "want"), [
    ("Neither larger nor smaller", {"stable"}), ("not grown and not shrunk", {"stable"}),
    ("Incr", {"increase"}), ("decr. in size", {"decrease"}), ("nil enhancing remnant", {"gross_total"}),
    ("has not shrunk", {"increase", "stable"}),
])
def test_options_said_by_denial_or_shorthand(option: str, want: set[str]) -> None:
    assert option_changes(option) == want


@pytest.mark.parametrize(("text", "asked"), [
    ("which prior imaging does the patient have?", ["priors"]),
    ("is the mass larger than on the prior imaging?", []),
    ("has it grown since her previous imaging?", []),
    ("compared with the earlier scans, is it stable?", []),
])
def test_a_look_up_word_governed_by_a_comparison_names_a_visit(text: str, asked: list[str]) -> None:
    assert voc.lookups_asked(text) == asked


@pytest.mark.parametrize(("radii", "letter"), [([6, 9, 12], "C"), ([12, 9, 6], "A"), ([9, 6, 9], "B")])
def test_a_span_said_with_till_reaches_the_answer(settings: Settings, tmp_path: Path, radii: list[float],
                                                   letter: str) -> None:
    q = ("Three visits, earliest first, latest last. Between the first one till the last one the mass got\n"
         "A: Smaller\nB: Neither larger nor smaller\nC: Larger")
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [([12, 6], "A"), ([6, 12], "B")])
def test_a_passive_exclusion_with_an_aside_asks_whether_the_change_is_absent(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = ("The insurer asks whether progression of the lesion, as seen between the earlier study and the later one, "
         "can be ruled out.\nA: Yes, it can\nB: No, it cannot")
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("stem", "radii", "letter"), [
    ("frame 2 against frame 3 (disregard frame 1): how has the lesion changed?", [6, 9, 12], "A"),
    ("frame 2 against frame 3 (disregard frame 1): how has the lesion changed?", [12, 12, 6], "C"),
    ("Shown oldest first. Frame 2 vs frame 3 only (skip frame 1): lesion larger, same or smaller?", [6, 12, 6], "C"),
    ("Shown oldest first. Frame 2 vs frame 3 only (skip frame 1): lesion larger, same or smaller?", [12, 6, 12], "A"),
])
def test_a_bracketed_set_aside_of_an_image_the_question_leaves_out_anyway(
        settings: Settings, tmp_path: Path, stem: str, radii: list[float], letter: str) -> None:
    options = "\nA: Grew\nB: Stable\nC: Shrank" if "changed" in stem else "\nA: Larger\nB: Same\nC: Smaller"
    assert answered(settings, tmp_path, radii, stem + options).letter == letter


def test_a_set_aside_with_one_image_named_stays_unread(settings: Settings, tmp_path: Path) -> None:
    q = "Three visits, oldest first. The middle one (ignore the first): larger, same or smaller?\nA: Larger\nB: Same\nC: Smaller"
    answer = answered(settings, tmp_path, [6, 12, 9], q)
    assert answer.letter is None, answer.text


@pytest.mark.parametrize("text", ["3 scans, oldest first.", "the oldest first and the newest last.", "most recent first"])
def test_an_order_said_with_a_time_word_names_no_image(text: str) -> None:
    assert [h for h in resolve_text(text, IMAGES) if len(h.indices) < len(IMAGES)] == []


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "A"), ([12, 6], "B")])
def test_a_change_since_the_prior_imaging_compares_with_the_prior_image(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "For the tumour board: is there growth of the lesion since the prior imaging?\nA: Yes\nB: No"
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "B"), ([12, 6], "A")])
def test_exhibits_are_images(settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "On which exhibit is the lesion burden greater?\nA: exhibit 1\nB: exhibit 2"
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("stem", "letter"), [
    ("Shown oldest first. frame 2 vs frame 3: lesion larger, same or smaller?", "C"),  # over time: 12 -> 6 shrank
    ("frame 2 vs frame 3: lesion larger, same or smaller?", "A"),  # no time said: frame 2 against frame 3
    ("Shown oldest first. Is the lesion larger on frame 2 than on frame 3?", "A"),  # "than" names the reference
])
def test_a_pair_set_side_by_side_in_a_series_asks_for_the_change_over_time(
        settings: Settings, tmp_path: Path, stem: str, letter: str) -> None:
    options = "\nA: Larger\nB: Same\nC: Smaller" if "?" in stem and "Is the" not in stem else "\nA: Yes\nB: No"
    assert answered(settings, tmp_path, [12, 12, 6], stem + options).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [([12, 6], "B"), ([6, 12], "C"), ([8, 8], "A")])
def test_a_statement_judged_most_accurate_is_no_superlative_of_the_lesion(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    """"most accurate" grades the options, not the lesion; "altered" asks for any change."""
    q = ("The panel asks whether the mass has altered in size between the two studies. Which statement is most "
         "correct?\nA: Its size is essentially unaltered\nB: The mass has become smaller\nC: The mass has become larger")
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [([12, 6], "A"), ([6, 12], "B")])
def test_a_degree_word_before_a_phrase_of_judgement_still_grades_the_lesion(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "In which frame is the lesion larger do you think?\nA: frame 1\nB: frame 2"
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("stem", "parts"), [
    ("Which view is frame 2? CC or MLO or what?", ["Which view is frame 2?"]),
    ("What weighting is frame 1? T1, T2, FLAIR or something else?", ["What weighting is frame 1?"]),
    ("Which eye is frame 2? Left, right etc.?", ["Which eye is frame 2?"]),
])
def test_a_list_of_choices_left_open_asks_nothing_of_its_own(stem: str, parts: list[str]) -> None:
    from mimir.agent.question_parts import split_parts

    assert split_parts(stem) == parts


@pytest.mark.parametrize(("option", "want"), [("no chg", {"stable"}), ("No interval chg.", {"stable"})])
def test_change_written_short_as_chg(option: str, want: set[str]) -> None:
    assert option_changes(option) == want
