"""Readings added for images numbered from zero, answers written as sentences, and questions said twice.

- "zero-indexed image 0", "img 0": images numbered from zero are renumbered from one before reading, and
  the answer says so; numbering from one is left alone.
- Answer parts written as sentences ("Bigger than the first: no. Bigger than the middle: yes.").
- A stem that asks one change twice ("How much did it change? Bigger, smaller or same?") with options that
  are change categories is one question; "old to new" names the order, no new lesion.
- "the last one in time" is the latest visit; "the dye" is contrast; "removed complete" a gross-total resection.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import answered

from mimir import vocabulary as voc
from mimir.agent.intents import read_question
from mimir.agent.meaning import mentioned_changes, read_options
from mimir.memory.numbering import one_based
from mimir.settings import Settings


@pytest.mark.parametrize(("text", "want"), [
    ("Which is larger?\nA: zero-indexed image 0\nB: zero-indexed image 1", "Which is larger?\nA: image 1\nB: image 2"),
    ("Is img 0 or img 1 the FLAIR?", "Is img 1 or img 2 the FLAIR?"),
    ("Images are counted from 0. Which is scan 2?", "Images are counted from 0. Which is scan 3?"),
])
def test_images_numbered_from_zero_are_renumbered_from_one(text: str, want: str) -> None:
    assert one_based(text) == (want, True)


@pytest.mark.parametrize("text", ["Is image 1 or image 2 the FLAIR?", "the scan of 2020 and image 2", "tumour 0 mm"])
def test_numbering_from_one_is_left_alone(text: str) -> None:
    assert one_based(text) == (text, False)


@pytest.mark.parametrize(("radii", "letter"), [([14, 9], "A"), ([9, 14], "B")])
def test_a_question_numbering_from_zero_is_answered_in_its_numbers(settings: Settings, tmp_path: Path,
                                                                 radii: list[float], letter: str) -> None:
    q = "Which image shows the larger tumour?\nA: 0-based image 0\nB: 0-based image 1"
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason
    assert any("counted from zero" in e.statement for e in answer.evidence)


def test_answer_parts_written_as_sentences() -> None:
    read = read_options({"A": "Larger than the first one: no. Larger than the middle one: yes.",
                         "B": "Larger than the first one: yes. Larger than the middle one: yes."}, 3)
    assert (read["A"].parts, read["B"].parts) == ((False, True), (True, True))


@pytest.mark.parametrize(("radii", "letter"), [([9, 14], "A"), ([14, 9], "C"), ([12, 12], "B")])
def test_a_change_asked_twice_with_category_options_is_one_question(settings: Settings, tmp_path: Path,
                                                                     radii: list[float], letter: str) -> None:
    q = "Old scan first, new scan second. How much did the mass change? Got bigger, smaller or same?\n" \
        "A: Got bigger\nB: Same\nC: Got smaller"
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


def test_old_to_new_names_the_order_not_a_new_lesion() -> None:
    assert mentioned_changes("Sorted old to new. Has the mass grown from first to last?") == ({"increase"}, set())
    assert "new" in mentioned_changes("Old scan clear; is there a new lesion now?")[0]


def test_the_last_one_in_time_the_dye_and_a_complete_removal() -> None:
    [when] = read_question("Not in date order. Which scan is the last one in time?", {"A": "scan 1", "B": "scan 2"}, 2)
    assert when.kind == "when"
    assert voc.sequence_of("the T1 picture with the dye") == "T1C"
    assert voc.values_in("the mass was removed complete", "resection") == ["gross_total"]


def test_translated_wording_reads_as_the_clinical_words() -> None:
    [grew] = read_question("Did the mass augment respect to the precedent study?", {"A": "No", "B": "Yes"}, 2)
    assert (grew.kind, set(grew.asserted)) == ("change", {"increase"})
    [oldest] = read_question("Which of these studies is the first one made, the more old?", {"A": "scan 1", "B": "scan 2"}, 2)
    assert oldest.kind == "when"
    assert voc.change_of("Not modified") == "stable" and voc.sequence_of("T1 WI with contrasting") == "T1C"


def test_dynamics_words_and_a_rest_of_tumour() -> None:
    read = read_options({"A": "Without dynamics (size unchanged)", "B": "Diminution", "C": "Increase of size"}, 2,
                        comparative_is_change=True)
    assert {k: set(v.changes) for k, v in read.items()} == {"A": {"stable"}, "B": {"decrease"}, "C": {"increase"}}
    [asked] = read_question("Evaluate dynamics of the mass between the two examinations.", {"A": "Diminution", "B": "No dynamics"}, 2)
    assert asked.kind == "change"
    assert read_options({"A": "no rest of enhancing tumour", "B": "a rest of tumour"}, 2)["A"].changes == {"gross_total"}


@pytest.mark.parametrize(("radii", "letter"), [([14, 10, 10], "C"), ([10, 14, 9], "A")])
def test_a_form_prompt_ending_in_a_colon_is_the_asking_sentence(settings: Settings, tmp_path: Path,
                                                               radii: list[float], letter: str) -> None:
    """The premise names all three timepoints; the prompt after it asks about two of them."""
    q = ("Images are TP1, TP2 and TP3 in chronological order. Change in tumour size between TP2 and TP3 (select one):\n"
         "A: Decrease\nB: Increase\nC: No change")
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason
