"""Readings added for exclusion verbs, words carried over from other languages, quiz cards and patients' words.

- Asking whether a change can be ruled out ("can we exclude growth?", "is it possible to discard a
  reduction?") asks whether it is absent: the answer is the opposite of "has it grown?".
- A comparative followed by "as" is one followed by "than" ("larger as on frame 1", German "als").
- "of major size" is the larger; "the actual study" the current one; "9 of March of 2019" a date.
- Options said as participles ("Increased", "Reduced") name a change in time, which runs earlier to later.
- "Confirmed" / "Not confirmed", "Aye" / "Naw" answer yes or no; "still remains" a partial resection.
- A quiz card's "Q: ... A: ___" labels are not the stem's words, nor its "A:" an option.
- A visit named in a premise ("photos from today's visit") does not make a label question a time question.
- "the frame labelled B", "the interval scan", "the first one I had", "in relation to the prior",
  options written as sentences ("Frame 1: T1. Frame 2: FLAIR.") and parts marked "(a)", "[c2]".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import answered

from mimir.agent import ellipsis
from mimir.agent.meaning import read_options
from mimir.domain import Case, parse_question
from mimir.memory.dates import dates_in
from mimir.memory.resolver import resolve
from mimir.settings import Settings
from mimir.spelling import respell

GROWS, SHRINKS, STABLE = [8, 12], [12, 8], [10, 10]


@pytest.mark.parametrize(("stem", "radii", "letter"), [
    ("Is it possible to rule out progression of the mass on frame 2 compared with frame 1?", GROWS, "B"),
    ("Is it possible to rule out progression of the mass on frame 2 compared with frame 1?", SHRINKS, "A"),
    ("Could the team dismiss an increase in size of the mass between the two frames?", GROWS, "B"),
    ("Could the team dismiss an increase in size of the mass between the two frames?", STABLE, "A"),
    ("Frame 1 then frame 2. Can one exclude that the mass stayed the same size?", STABLE, "B"),
    ("Frame 1 then frame 2. Can one exclude that the mass stayed the same size?", SHRINKS, "A"),
    ("Frame 1 then frame 2. Can the reader discard a decrease of the mass?", SHRINKS, "B"),
    ("Frame 1 then frame 2. Can the reader discard a decrease of the mass?", GROWS, "A"),
])
def test_asking_whether_a_change_can_be_ruled_out_asks_whether_it_is_absent(
        settings: Settings, tmp_path: Path, stem: str, radii: list[float], letter: str) -> None:
    """Read as "has it grown?", every one of these is answered the wrong way round."""
    answer = answered(settings, tmp_path, radii, f"{stem}\nA: Yes, it can be\nB: No, it cannot be")
    assert answer.letter == letter, (answer.letter, answer.abstain_reason)


@pytest.mark.parametrize(("text", "want"), [
    ("Is the mass larger as on frame 1?", "Is the mass larger than on frame 1?"),
    ("A: Smaller as frame 1", "A: Smaller than frame 1"),
    ("Is the bleed more extensive as before?", "Is the bleed more extensive than before?"),
])
def test_a_comparative_followed_by_as_reads_as_followed_by_than(text: str, want: str) -> None:
    read, changed = respell(text)
    assert read == want and changed


@pytest.mark.parametrize("text", ["Is it the same size as before?", "Is it as large as on frame 1?",
                                  "Is it larger, as the report says?", "Is it larger as well?",
                                  "Give more as a precaution", "Is it larger as if it had bled?"])
def test_as_is_left_alone_where_it_is_no_comparison(text: str) -> None:
    assert respell(text) == (text, [])


@pytest.mark.parametrize(("radii", "letter"), [(GROWS, "A"), (SHRINKS, "B")])
def test_comparative_as_reaches_the_answer(settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "On frame 2, is the mass larger or smaller as on frame 1?\nA: Larger as on frame 1\nB: Smaller as on frame 1\nC: Same"
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [([8, 10, 13], "C"), ([13, 10, 8], "A")])
def test_of_major_size_is_the_larger(settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "On which frame is the mass of major size?\nA: frame 1\nB: frame 2\nC: frame 3"
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [(GROWS, "A"), (SHRINKS, "B"), (STABLE, "C")])
def test_participle_options_name_a_change_that_runs_earlier_to_later(settings: Settings, tmp_path: Path,
                                                                    radii: list[float], letter: str) -> None:
    """The cue sets the current frame as the reference; as amounts "Increased" would read against it, reversed."""
    q = "Earlier frame (1) versus current frame (2). Change in the mass:\nA: Increased\nB: Reduced\nC: No change"
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


@pytest.mark.parametrize(("options", "radii", "letter"), [
    ("A: Confirmed\nB: Not confirmed", GROWS, "A"), ("A: Confirmed\nB: Not confirmed", SHRINKS, "B"),
    ("A: Naw\nB: Aye", STABLE, "B"), ("A: Unconfirmed\nB: Confirmed", GROWS, "B"),
])
def test_confirmation_and_scots_answers_read_as_yes_or_no(settings: Settings, tmp_path: Path, options: str,
                                                          radii: list[float], letter: str) -> None:
    q = f"Frame 1 then frame 2. Please confirm the mass did not get smaller.\n{options}"
    assert answered(settings, tmp_path, radii, q).letter == letter


def test_still_remaining_tumour_is_a_partial_resection() -> None:
    read = read_options({"A": "Tumour is still present", "B": "Fully removed", "C": "A bit still remains"}, 2)
    assert [read[k].changes for k in "ABC"] == [{"partial"}, {"gross_total"}, {"partial"}]


@pytest.mark.parametrize("text", ["Q: Which frame shows more? A: ___\nA: frame 1\nB: frame 2",
                                  "Question 4. Which frame shows more? Answer:\nA: frame 1\nB: frame 2",
                                  "Q1) Which frame shows more?\nA: frame 1\nB: frame 2"])
def test_a_quiz_card_s_labels_are_neither_stem_nor_option(text: str) -> None:
    parsed = parse_question(text)
    assert parsed.stem == "Which frame shows more?" and parsed.options == {"A": "frame 1", "B": "frame 2"}


def test_a_stem_line_that_looks_like_an_option_above_option_a_stays_in_the_stem() -> None:
    parsed = parse_question("Context first.\nB: not an option but a note\nWhich is larger?\nA: frame 1\nB: frame 2")
    assert parsed.options == {"A": "frame 1", "B": "frame 2"} and "not an option" in parsed.stem


@pytest.mark.parametrize("stem", ["Both frames are from today's visit. Which one is the FLAIR?",
                                  "Frames from this visit: which one is the FLAIR?"])
def test_a_visit_named_in_a_premise_leaves_a_label_question(settings: Settings, tmp_path: Path, stem: str) -> None:
    answer = answered(settings, tmp_path, [8, 8], f"{stem}\nA: frame 1\nB: frame 2", sequences=["T1", "FLAIR"])
    assert answer.letter == "B", answer.abstain_reason


@pytest.mark.parametrize(("question", "want"), [
    ("What sequence is the frame labelled B?", [[1]]),  # places in the list
    ("What sequence is the view marked (iii)?", [[2]]),
    ("Is the lesion larger on the interval scan?", [[2]]),  # visits: 2021, between the first and the latest
    ("Is the lesion larger on the actual study?", [[0]]),  # 2022
    ("They are out of order: which is the first one I had?", [[1]]),  # 2020, not the first listed
])
def test_references_in_these_words_bind(question: str, want: list[list[int]]) -> None:
    images = [{"path": f"/i{k}.png", "study_date": f"202{k}-01-01"} for k in (2, 0, 1)]  # listed out of time order
    bindings = resolve(Case(question=question, images=images)).bindings
    assert [b.image_indices for b in bindings if b.image_indices] == want, bindings


@pytest.mark.parametrize(("text", "want"), [("the scan of 9 of March of 2019", "2019-03-09"),
                                            ("taken in May of 2021", "2021-05")])
def test_dates_with_of_before_the_year(text: str, want: str) -> None:
    assert [str(d) for d in dates_in(text)] == [want]


def test_in_relation_to_cues_the_reference_an_elliptical_part_replaces() -> None:
    full = ellipsis.complete("Has the mass grown on the last scan in relation to the first scan?", "And in relation to the prior?")
    assert full == "Has the mass grown on the last scan in relation to the prior?"


def test_options_written_as_sentences_and_marked_parts() -> None:
    read = read_options({"A": "Frame 1: T1. Frame 2: FLAIR.", "B": "Frame 1: FLAIR. Frame 2: T1.",
                         "C": "(a) grown; (b) not grown", "D": "[c1] no, [c2] yes"}, 2)
    assert dict(read["A"].pairs) == {0: "T1", 1: "FLAIR"} and dict(read["B"].pairs) == {0: "FLAIR", 1: "T1"}
    assert read["C"].parts == (True, False) and read["D"].parts == (False, True)


@pytest.mark.parametrize(("option", "change"), [("Increased", True), ("Reduced", True), ("Interval reduction", True),
                                                ("More pronounced", False), ("Larger", False), ("Less advanced", False)])
def test_only_a_one_word_participle_comparative_names_a_change_in_time(option: str, change: bool) -> None:
    from mimir.agent.planners.frame import _names_change

    assert _names_change(option) is change
