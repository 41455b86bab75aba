"""Readings of how a question relates its images, each a kind of misreading that gave confident wrong answers.

- The image a comparison is made against is found at every place it is named, not only its first
  ("Picture 2 is the follow-up. On picture 1, set against picture 2, ..." describes picture 1).
- "last" beside a word that says how the images were put before the reader ("the last attached
  picture") is a place in the list; after "since" alone it is still the prior visit.
- A stem that offers both directions ("greater than, smaller than or the same as") asks for the
  relation between two images, not for the image with more.
- Places: a partitive after a time word ("the latest two of these four consecutive studies"), a letter
  in parentheses before the noun ("the (c) picture"); "the new scan" / "the old film" name images and
  are no new lesion.
- A part made of politeness formulas ("and kindly revert") asks nothing; an identity phrase ("of the same
  person") grades nothing; "the sequence of image 2" is an attribute, not a quantity to measure.
- A numeric date whose day and month could be either way round binds the image dated on either.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from fixtures.agent_cases import answered, lesion_case
from fixtures.agent_tools import stand_in_registry

from mimir import vocabulary as voc
from mimir.agent.entry import Agent
from mimir.agent.intents import read_question, split_parts
from mimir.agent.meaning import mentioned_changes
from mimir.domain import CaseImage
from mimir.memory.resolver import resolve_text
from mimir.settings import Settings

PNG = [CaseImage(path=f"/x/img{i}.png") for i in range(4)]
DATED = [CaseImage(path=f"/x/img{i}.dcm", study_date=datetime.date(2020, 2 + 3 * i, 11)) for i in range(4)]


@pytest.mark.parametrize(("radii", "letter"), [([9, 14], "B"), ([14, 9], "A"), ([12, 12], "C")])
def test_the_image_compared_against_is_read_where_the_cue_names_it(settings: Settings, tmp_path: Path,
                                                                   radii: list[float], letter: str) -> None:
    """Read from the first "picture 2" (no cue there), the comparison ran the other way: a confident reversal."""
    q = ("Picture 1 is the baseline and picture 2 the follow-up. On picture 1, set against picture 2, the lesion "
         "measured:\nA: more\nB: less\nC: the same")
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


@pytest.mark.parametrize(("text", "want"), [("compared with the last attached picture", [3]),
                                            ("in comparison to the last enclosed study", [3]),
                                            ("since the last scan", [2]), ("since the last available scan", [2])])
def test_last_beside_a_listing_word_is_a_place_and_after_since_the_prior(text: str, want: list[int]) -> None:
    [hit] = resolve_text(text, DATED)
    assert hit.indices == want, hit.reason


@pytest.mark.parametrize(("radii", "letter"), [([9, 14], "A"), ([14, 9], "B"), ([12, 12], "C")])
def test_a_stem_offering_both_directions_asks_for_the_relation(settings: Settings, tmp_path: Path,
                                                                radii: list[float], letter: str) -> None:
    q = ("Is the amount of tumour in image 2 greater than, smaller than or the same as in image 1?\n"
         "A: Greater than in image 1\nB: Smaller than in image 1\nC: The same as in image 1")
    assert read_question(q.split("\n")[0], {"A": "x", "B": "y"}, 2)[0].kind != "extreme"
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


def test_one_direction_still_asks_for_the_image() -> None:
    [intent] = read_question("Which image shows more tumour?", {"A": "image 1", "B": "image 2"}, 2)
    assert intent.kind == "extreme" and intent.direction == "more"


@pytest.mark.parametrize(("text", "images", "want"), [
    ("the latest two of these four consecutive studies", DATED, [2, 3]),
    ("the first two of the four successive scans", PNG, [0, 1]),
    ("the (c) picture", PNG, [2]),
    ("the (ii) study", PNG, [1]),
])
def test_places_read_through_series_words_and_lettered_names(text: str, images: list[CaseImage], want: list[int]) -> None:
    hits = [h for h in resolve_text(text, images) if h.indices != list(range(len(images)))]
    assert [h.indices for h in hits] == [want], hits


def test_old_and_new_name_images_and_are_no_new_lesion() -> None:
    hits = resolve_text("the old film and the new film", PNG[:2])
    assert [h.indices for h in hits] == [[0], [1]]
    assert mentioned_changes("Has the mass got smaller on the new film?") == ({"decrease"}, set())
    assert "new" in mentioned_changes("Is there a new lesion on the second film?")[0]


@pytest.mark.parametrize("stem", ["Please state how the tumour changed and do the necessary.",
                                  "Comment on the extent of resection and do the needful asap."])
def test_a_part_of_politeness_formulas_asks_nothing(stem: str) -> None:
    assert len(split_parts(stem)) == 1


def test_an_identity_phrase_does_not_make_a_date_question_a_comparison() -> None:
    [intent] = read_question("Both are studies of the same person; which one was taken earliest?",
                             {"A": "image 1", "B": "image 2"}, 2)
    assert intent.kind == "when"


def test_the_sequence_of_an_image_is_an_attribute_not_a_quantity(settings: Settings, tmp_path: Path) -> None:
    q = "What is the sequence of image 2?\nA: FLAIR\nB: T1 with contrast\nC: T2"
    case = lesion_case(tmp_path, [10, 10], q, sequences=["T1C", "FLAIR"])
    answer = Agent(settings, registry=stand_in_registry()).answer(case)
    assert answer.letter == "A", answer.abstain_reason


def test_sol_is_a_space_occupying_lesion() -> None:
    assert voc.values_in("Is the SOL larger?", "finding") == ["tumour"]
