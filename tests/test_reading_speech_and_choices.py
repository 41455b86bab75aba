"""Readings added for spoken and chatty wording: words a transcript writes, choices said again, answers before a clause.

- A weighting spoken as "tee one" is T1; "flare" (how a transcript hears FLAIR) is the FLAIR.
- A contraction without its apostrophe ("theres") is no typo of a vocabulary word.
- A part that only says the choices again ("Left or right?", "Yes or no?") asks nothing of its own.
- "Can tell me?" is a courtesy.
- "No" before a clause of its own answers ("No there's some left"); before a noun it negates ("No residual").
- "nothing enhancing left", "completely gone": a gross-total resection.
- An ordinal that binds no image ("the third evaluation") makes a comparison abstain, not span every image;
  "investigation" is an image noun.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import answered

from mimir import vocabulary as voc
from mimir.agent.meaning import option_changes
from mimir.agent.question_parts import split_parts
from mimir.settings import Settings
from mimir.spelling import respell


@pytest.mark.parametrize(("text", "want"), [("is frame 2 the tee one", "is frame 2 the T1"),
                                            ("a Tee-two weighted frame", "a T2 weighted frame"),
                                            ("the T two", "the T2")])
def test_a_spoken_weighting_is_read_in_digits(text: str, want: str) -> None:
    assert respell(text)[0] == want


@pytest.mark.parametrize("text", ["No theres some left", "it isnt the T2", "thats the FLAIR", "youre right"])
def test_a_contraction_without_its_apostrophe_is_left_as_written(text: str) -> None:
    assert respell(text) == (text, [])


@pytest.mark.parametrize("text", ["the flare sequence", "the flare", "a T2 flare image"])
def test_flare_is_the_flair(text: str) -> None:
    assert voc.values_in(text, "sequence") == ["FLAIR"]


@pytest.mark.parametrize(("stem", "parts"), [
    ("Which eye is frame 2? Left or right?", ["Which eye is frame 2?"]),
    ("Has the mass grown? Yes or no?", ["Has the mass grown?"]),
    ("What is frame 1? T1, T2 or FLAIR?", ["What is frame 1?"]),
    ("Is it larger on frame 2? Or is it smaller?", ["Is it larger on frame 2?", "Or is it smaller?"]),
    ("Which frame is the left eye? Can tell me?", ["Which frame is the left eye?"]),
])
def test_a_part_that_only_says_the_choices_again_asks_nothing(stem: str, parts: list[str]) -> None:
    assert split_parts(stem) == parts


@pytest.mark.parametrize(("option", "want"), [
    ("No theres some left", {"partial"}), ("No there is still tumour left", {"partial"}),
    ("No it has grown", {"increase"}), ("No residual tumour", {"gross_total"}),
    ("I'd call it gross total, nothing enhancing left", {"gross_total"}), ("Yes, completely gone", {"gross_total"}),
])
def test_no_before_a_clause_answers_and_before_a_noun_negates(option: str, want: set[str]) -> None:
    assert option_changes(option) == want


@pytest.mark.parametrize(("stem", "letter"), [("Um which one of these frames is the flare sequence", "B"),
                                              ("Which frame is the tee one ah? Can tell me?", "A"),
                                              ("So what sequence would frame two be? T1 or FLAIR?", "C")])
def test_spoken_wording_reaches_the_answer(settings: Settings, tmp_path: Path, stem: str, letter: str) -> None:
    options = "\nA: frame 1\nB: frame 2" if "which" in stem.lower() else "\nA: T1\nB: T2\nC: FLAIR"
    answer = answered(settings, tmp_path, [8, 8], stem + options, sequences=["T1", "FLAIR"])
    assert answer.letter == letter, answer.abstain_reason


def test_an_ordinal_that_binds_no_image_abstains_rather_than_comparing_every_image(settings: Settings, tmp_path: Path) -> None:
    """Frames 1 -> 3 grew, frames 2 -> 3 shrank: read over every image, "has it grown" would be a confident 'Yes'."""
    q = "Between the second and the third evaluation, has the mass grown?\nA: Yes\nB: No"
    answer = answered(settings, tmp_path, [6, 12, 9], q)
    assert answer.letter is None and "'the second'" in (answer.abstain_reason or ""), answer.abstain_reason


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "A"), ([12, 6], "B")])
def test_an_order_said_with_an_ordinal_names_no_image_and_is_no_reason_to_abstain(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "Prior first, current second. Any interval growth of the mass to speak of?\nA: Yes\nB: No"
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [([6, 12, 9], "B"), ([12, 6, 9], "A")])
def test_an_investigation_is_an_image(settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    q = "Between the second and the third investigation, has the mass grown?\nA: Yes\nB: No"
    assert answered(settings, tmp_path, radii, q).letter == letter
