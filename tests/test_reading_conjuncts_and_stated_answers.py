"""Two readings that keep a misread question from becoming a confident wrong answer.

- A coordinated phrase whose conjuncts pick images by different kinds of word ("the second and the last
  scan") names the images of every conjunct, or none: never the first conjunct's images alone.
- A yes or no option that also says what it means ("Yes, no growth") is checked against the measurement:
  when its words contradict it the question was misread and the answer abstains; when the stem asserts
  nothing readable, the options' own statements choose.
- Which images a change compares: a remark about every image ("Scans are in date order") gives way to the
  images a phrase picks; "last" after "since" is the prior visit; a parenthesis restating a phrase is left
  aside; a remark after a question ("y/n", "The header is missing.") asks nothing.
- Amounts: "more small" is "smaller".
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from fixtures.agent_cases import answered, lesion_case
from fixtures.agent_tools import stand_in_registry

from mimir import vocabulary as voc
from mimir.agent.entry import Agent
from mimir.agent.intents import split_parts
from mimir.agent.yes_no import stated
from mimir.domain import CaseImage
from mimir.memory.resolver import resolve_text
from mimir.settings import Settings

PNG = [CaseImage(path=f"/x/img{i}.png") for i in range(3)]
DATED = [CaseImage(path=f"/x/img{i}.dcm", study_date=datetime.date(2021, 1 + 3 * i, 9)) for i in range(3)]


@pytest.mark.parametrize("images", [PNG, DATED], ids=["undated", "dated"])
@pytest.mark.parametrize(("text", "want"), [
    ("between the second and the last examination", [1, 2]),  # a place in the list, and "last" read as one beside it
    ("the 2nd and final scan", [1, 2]),
    ("the first and the most recent study", [0, 2]),  # a place in the list and a place in time
    ("the middle and the latest image", [1, 2]),
])
def test_conjuncts_that_select_differently_name_the_union(images: list[CaseImage], text: str, want: list[int]) -> None:
    [hit] = resolve_text(text, images)
    assert hit.indices == want, hit.reason


@pytest.mark.parametrize(("text", "want"), [("the first of the three scans", [0]), ("the last two of the 3 images", [1, 2]),
                                            ("the second and the last of the three studies", [1, 2])])
def test_a_place_within_a_counted_set_names_that_place(text: str, want: list[int]) -> None:
    [hit] = resolve_text(text, DATED)
    assert hit.indices == want and not hit.ambiguous, hit.reason


def test_a_conjunct_that_names_no_image_leaves_the_phrase_unsettled() -> None:
    [hit] = resolve_text("the first and the fifth scan", DATED)
    assert hit.ambiguous and not hit.indices


@pytest.mark.parametrize(("radii", "letter"), [([14, 9, 9], "B"), ([9, 9, 14], "A"), ([14, 14, 9], "C")])
def test_a_change_between_coordinated_visits_compares_those_visits(settings: Settings, tmp_path: Path,
                                                                  radii: list[float], letter: str) -> None:
    """Read as all three images (the premise's "Three examinations"), [14, 9, 9] would be a confident 'shrunk'."""
    q = ("Three examinations in chronological order. Between the second and the last examination, how has the "
         "lesion developed?\nA: grown\nB: unchanged\nC: shrunk")
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason
    partitive = "How has the lesion changed between the second and the last of the three scans?\nA: grown\nB: unchanged\nC: shrunk"
    assert answered(settings, tmp_path, radii, partitive).letter == letter


@pytest.mark.parametrize(("text", "want"), [("Not correct", False), ("not accurate", False), ("Accurate", True),
                                            ("Not sure", None), ("Not the first", None)])
def test_a_denied_yes_word_is_a_no(text: str, want: bool | None) -> None:
    assert voc.answer_of(text) is want


@pytest.mark.parametrize(("text", "want"), [("No - it is smaller", {"decrease"}), ("Yes, no growth", {"decrease", "stable"}),
                                            ("No, it has grown", {"increase"}), ("Yes", set()),
                                            ("No residual", {"gross_total"}), ("Yes, some residual", {"partial"})])
def test_what_an_answer_states_after_its_yes_or_no(text: str, want: set[str]) -> None:
    assert stated(text) == want


@pytest.mark.parametrize("radii", [[9, 14], [9, 9]])
def test_an_option_whose_own_words_contradict_the_measurement_is_not_chosen(settings: Settings, tmp_path: Path,
                                                                            radii: list[float]) -> None:
    """'exempt from' is no negation the vocabulary knows, so the stem reads as asking about growth; the
    options say which reading is meant, and neither fits: an abstention, not 'Yes, no growth' for a growing lesion."""
    q = "Is the second scan exempt from any growth of the lesion since the first?\nA: Yes, no growth\nB: No, it has grown"
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter is None and "own words" in (answer.abstain_reason or ""), (answer.letter, answer.abstain_reason)


@pytest.mark.parametrize(("radii", "letter"), [([9, 14], "A"), ([9, 9], "B"), ([14, 9], None)])
def test_options_that_state_their_change_choose_when_the_stem_asserts_nothing(settings: Settings, tmp_path: Path,
                                                                              radii: list[float], letter: str | None) -> None:
    q = "Do the two scans bear out the report?\nA: Yes - the lesion has grown\nB: No - the lesion is unchanged"
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


@pytest.mark.parametrize(("stem", "want"), [
    ("Sorry, which sequence is it, image two? The header is missing.", ["Sorry, which sequence is it, image two?"]),
    ("Has it grown? Answer yes or no.", ["Has it grown?"]),
    ("Has it grown? Is it denser?", ["Has it grown?", "Is it denser?"]),
])
def test_a_statement_after_a_question_is_no_question_of_its_own(stem: str, want: list[str]) -> None:
    assert split_parts(stem) == want


def test_a_sequence_question_followed_by_a_remark_is_answered(settings: Settings, tmp_path: Path) -> None:
    q = "Sorry, which sequence is it, image two? The header is missing.\nA: T1\nB: FLAIR"
    case = lesion_case(tmp_path, [8, 8], q, sequences=["T1", "FLAIR"])
    answer = Agent(settings, registry=stand_in_registry()).answer(case)
    assert answer.letter == "B", answer.abstain_reason


@pytest.mark.parametrize(("text", "want"), [("the second and third of them", [1, 2]), ("the last two of these", [1, 2]),
                                            ("Three scans. Only the second and third (most recent) of them count.", [1, 2])])
def test_places_among_images_named_before_bind_through_a_partitive_pronoun(text: str, want: list[int]) -> None:
    hits = [h for h in resolve_text(text, DATED) if len(h.indices) < 3]
    assert [h.indices for h in hits] == [want]


@pytest.mark.parametrize(("stem", "want"), [("Pt's lesion - smaller than prior? y/n", ["Pt's lesion - smaller than prior?"]),
                                            ("Which is the oldest? need it as the baseline", ["Which is the oldest?"])])
def test_a_remark_without_a_question_word_or_mark_is_no_question_part(stem: str, want: list[str]) -> None:
    assert split_parts(stem) == want


@pytest.mark.parametrize(("text", "want"), [("[x] No", False), ("[X] Yes", True), ("☑ Yes", True), ("(x) No", False)])
def test_a_ticked_box_before_an_answer_word_keeps_the_answer(text: str, want: bool) -> None:
    assert voc.answer_of(text) is want


def test_a_date_named_before_the_question_picks_that_study_among_these(settings: Settings, tmp_path: Path) -> None:
    """"these images" names every image; the dated mention names the one asked for."""
    q = "The request references imaging performed 14-Jun-2015. Which of these images is that study?\nA: image 1\nB: image 2"
    case = lesion_case(tmp_path, [8, 8], q)
    case.images[0].study_date, case.images[1].study_date = datetime.date(2014, 3, 2), datetime.date(2015, 6, 14)
    assert Agent(settings, registry=stand_in_registry()).answer(case).letter == "B"


@pytest.mark.parametrize(("stem", "radii", "letter"), [
    ("In which image the lesion appears more small?", [8, 12], "A"),  # "more" with a plain adjective: its comparative
    ("In which image does the lesion look less big?", [12, 8], "B"),
    ("Which image has the most small lesion?", [12, 8], "B"),
])
def test_more_or_less_before_a_plain_size_adjective_is_its_comparative(settings: Settings, tmp_path: Path, stem: str,
                                                                       radii: list[float], letter: str) -> None:
    q = f"{stem}\nA: image 1\nB: image 2"
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize("text", ["since the last scan", "compared with the last study", "from the last one"])
def test_last_after_a_word_a_change_is_measured_from_is_the_prior_visit(text: str) -> None:
    [hit] = resolve_text(f"Has the lesion shrunk {text}?", DATED)
    assert hit.indices == [1], hit.reason
    [plain] = resolve_text("Which is the last scan?", DATED)
    assert plain.indices == [2]


def test_a_parenthesis_restating_a_phrase_leaves_its_images(settings: Settings, tmp_path: Path) -> None:
    [hit] = resolve_text("only the second and the third (the two most recent)", DATED)
    assert hit.indices == [1, 2] and not hit.ambiguous, hit.reason
    q = ("Three studies in chronological order. Considering only the second and the third (the two most recent), how has "
         "the lesion changed?\nA: Unchanged\nB: Decreased\nC: Increased")
    assert answered(settings, tmp_path, [14, 9, 9], q).letter == "A"


@pytest.mark.parametrize(("radii", "letter"), [([14, 9, 9], "C"), ([9, 9, 14], "A")])
def test_images_picked_by_a_label_win_over_a_remark_about_all_of_them(settings: Settings, tmp_path: Path,
                                                                     radii: list[float], letter: str) -> None:
    """Read as every image (the remark's "Scans"), [14, 9, 9] would be a confident 'Decrease'."""
    q = "Label: change of lesion, latest pair (scan 2 -> scan 3). Scans are in date order.\nA: Increase\nB: Decrease\nC: No change"
    assert answered(settings, tmp_path, radii, q).letter == letter
