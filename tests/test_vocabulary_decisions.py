"""Every term of the clinical vocabulary reaches a decision: a resolver binding, a classifier ability or a reading.

Attribute, time, position and count words must bind the right image through ``mimir resolve``;
question words must change the ability the classifier gives; change, resection, negation and answer
words must change what the option reader concludes.
"""

from __future__ import annotations

import re

import pytest

from mimir import vocabulary as voc
from mimir.agent.question_kind import classify_question, is_follow_up
from mimir.domain import Case
from mimir.memory.resolver import resolve

TABLE = voc.vocabulary().table


def _terms(concept: str) -> list[tuple[str, str]]:
    """(value, a phrase its term reads): a starred ending completed, a gap ("different ... from") filled with a noun phrase."""
    return [(v, re.sub(r"\*", "", t).replace(" ... ", " in size ")) for v, e in TABLE[concept].items()
            for t in (*e.terms, *e.abbreviations)]


def _bound(question: str, images: list[dict[str, str]]) -> list[list[int]]:
    res = resolve(Case(question=question, images=[{"path": f"/i{k}.png", **m} for k, m in enumerate(images)]))
    return [b.image_indices for b in res.bindings]


HEADERS = {
    "sequence": {"T1": "AX T1", "T1C": "AX T1 POST GAD", "T2": "AX T2", "FLAIR": "AX FLAIR", "DWI": "AX DWI B1000",
                 "ADC": "AX ADC", "SWI": "AX SWI"},
}


@pytest.mark.parametrize(("value", "term"), _terms("sequence"), ids=[f"{v}:{t}" for v, t in _terms("sequence")])
def test_sequence_terms_bind_their_image(value: str, term: str) -> None:
    images = [{"modality": "MR", "series_description": d} for d in HEADERS["sequence"].values()]
    want = list(HEADERS["sequence"]).index(value)
    assert [want] in _bound(f"Which image is the {term}?", images)


@pytest.mark.parametrize(("value", "term"), _terms("modality"), ids=[f"{v}:{t}" for v, t in _terms("modality")])
def test_modality_terms_bind_their_image(value: str, term: str) -> None:
    codes = list(TABLE["modality"])
    images = [{"modality": TABLE["modality"][c].codes[0]} for c in codes]
    assert [codes.index(value)] in _bound(f"What does the {term} show?", images)


@pytest.mark.parametrize(("value", "term"), _terms("view"), ids=[f"{v}:{t}" for v, t in _terms("view")])
def test_view_terms_bind_their_image(value: str, term: str) -> None:
    codes = list(TABLE["view"])
    images = [{"modality": "MG", "view": c} for c in codes]
    assert [codes.index(value)] in _bound(f"Is the mass seen on the {term} image?", images)


@pytest.mark.parametrize(("value", "term"), _terms("laterality"), ids=[f"{v}:{t}" for v, t in _terms("laterality")])
def test_side_terms_bind_their_image(value: str, term: str) -> None:
    images = [{"modality": "OP", "laterality": "L"}, {"modality": "OP", "laterality": "R"}]
    if value == "B" and not voc.find(term, "sided_part"):
        assert voc.side_of(f"{term} effusions") == "B"  # "both lungs": both sides of one image, not two images
        return
    want = {"L": [0], "R": [1], "B": [0, 1]}[value]
    head = "" if term.isupper() or value == "B" else " eye"
    assert want in _bound(f"Describe the {term}{head}.", images)


@pytest.mark.parametrize(("value", "term"), _terms("body_part"), ids=[f"{v}:{t}" for v, t in _terms("body_part")])
def test_body_part_terms_filter_images(value: str, term: str) -> None:
    codes = list(TABLE["body_part"])
    images = [{"body_part": c} for c in codes]
    assert [codes.index(value)] in _bound(f"Describe the {term} image.", images)


@pytest.mark.parametrize(("value", "term"), _terms("sided_part"), ids=[f"{v}:{t}" for v, t in _terms("sided_part")])
def test_sided_part_terms_make_a_side_name_an_image(value: str, term: str) -> None:
    images = [{"laterality": "R"}, {"laterality": "L"}]
    assert [1] in _bound(f"Describe the left {term}.", images)


@pytest.mark.parametrize(("value", "term"), _terms("image_noun"), ids=[f"{v}:{t}" for v, t in _terms("image_noun")])
def test_image_nouns_head_a_reference(value: str, term: str) -> None:
    assert [1] in _bound(f"Describe the second {term}.", [{}, {}, {}])


_ROLE = {"baseline": [0], "prior": [1], "latest": [2], "earlier": [0], "later": [1]}


@pytest.mark.parametrize(("value", "term"), _terms("time"), ids=[f"{v}:{t}" for v, t in _terms("time")])
def test_time_terms_bind_their_visit(value: str, term: str) -> None:
    dates = ["2020-01-10", "2020-06-10", "2021-01-10"] if value not in ("earlier", "later") else ["2020-01-10", "2020-06-10"]
    images = [{"study_date": d} for d in dates]
    assert _ROLE[value] in _bound(f"Compare with the {term} scan.", images)


def _position(value: str, n: int) -> list[int]:
    if value == "middle":
        return [n // 2]
    k = int(value)
    return [k - 1 if k > 0 else n + k]


@pytest.mark.parametrize(("value", "term"), _terms("ordinal"), ids=[f"{v}:{t}" for v, t in _terms("ordinal")])
def test_ordinal_terms_bind_their_position(value: str, term: str) -> None:
    n = 7
    phrase = f"the {term}" if "one" in term else f"the {term} image"
    assert _position(value, n) in _bound(f"Describe {phrase}.", [{}] * n)


@pytest.mark.parametrize(("value", "term"), _terms("cardinal") + _terms("collective"),
                         ids=[f"{v}:{t}" for v, t in _terms("cardinal") + _terms("collective")])
def test_count_terms_bind_that_many_images(value: str, term: str) -> None:
    n = int(value)
    noun = "image" if n == 1 else "images"
    phrase = f"{term} of the {noun}" if term.endswith(" of") else f"the {term} {noun}" if not term.startswith("a ") else f"{term} {noun}"
    assert list(range(n)) in _bound(f"Compare {phrase}.", [{}] * n)


@pytest.mark.parametrize(("value", "term"), _terms("determiner"), ids=[f"{v}:{t}" for v, t in _terms("determiner")])
def test_determiners_open_a_reference(value: str, term: str) -> None:
    assert [0, 1] in _bound(f"Compare {term} images.", [{}, {}])


# Words the question classifier decides on: with the word the ability changes, without it it does not.
_WHICH = "\nA: the first image\nB: the second image"


@pytest.mark.parametrize(("value", "term"), _terms("comparative") + _terms("superlative"),
                         ids=[f"{v}:{t}" for v, t in _terms("comparative") + _terms("superlative")])
def test_comparison_words_make_an_image_choice_a_comparison(value: str, term: str) -> None:
    assert classify_question(f"Which image shows the lesion size?{_WHICH}").ability == "coreference"
    assert classify_question(f"Which image shows the {term} lesion size?{_WHICH}").ability == "comparison"


@pytest.mark.parametrize(("value", "term"), _terms("quantity"), ids=[f"{v}:{t}" for v, t in _terms("quantity")])
def test_quantity_words_make_a_comparative_measurable(value: str, term: str) -> None:
    assert classify_question(f"Which image shows the greater {term}?{_WHICH}").ability == "comparison"


@pytest.mark.parametrize(("concept", "value", "term", "ability"), [
    (c, v, t, a) for c, a in (("diagnosis", "reasoning"), ("prognosis", "temporal"), ("course", "temporal"),
                              ("compare", "comparison"), ("procedure", "comparison"))
    for v, t in _terms(c)], ids=lambda x: str(x))
def test_question_words_decide_the_ability(concept: str, value: str, term: str, ability: str) -> None:
    assert classify_question("What do you see here?").ability == "other"
    assert classify_question(f"What do you see here, {term}?").ability == ability


@pytest.mark.parametrize(("value", "term"), _terms("identify"), ids=[f"{v}:{t}" for v, t in _terms("identify")])
def test_identify_words_ask_which_image(value: str, term: str) -> None:
    assert classify_question(f"{term} has the lesion?").ability == "coreference"


@pytest.mark.parametrize(("value", "term"), _terms("attribute_noun"), ids=[f"{v}:{t}" for v, t in _terms("attribute_noun")])
def test_attribute_nouns_ask_what_an_image_is(value: str, term: str) -> None:
    assert classify_question(f"Which {term} is the first image?").ability == "coreference"


@pytest.mark.parametrize(("value", "term"), _terms("change") + _terms("resection"),
                         ids=[f"{v}:{t}" for v, t in _terms("change") + _terms("resection")])
def test_change_words_are_read_as_their_category(value: str, term: str) -> None:
    assert voc.change_of(f"The lesion: {term}.") == value
    other = "stable disease" if value != "stable" else "larger"
    expected = "comparison" if value in ("gross_total", "partial") else "temporal"
    assert classify_question(f"What best describes the lesion?\nA: {term}\nB: {other}").ability == expected


@pytest.mark.parametrize(("value", "term"), _terms("negation"), ids=[f"{v}:{t}" for v, t in _terms("negation")])
def test_negations_cancel_the_change_they_govern(value: str, term: str) -> None:
    text = f"the tumour {term} enlarged" if value == "pre" else f"enlargement {term}"
    assert voc.change_of("the tumour enlarged") == "increase"
    assert voc.change_of(text) is None, voc.find(text, "change")


@pytest.mark.parametrize(("value", "term"), _terms("answer"), ids=[f"{v}:{t}" for v, t in _terms("answer")])
def test_answer_words_read_as_yes_or_no(value: str, term: str) -> None:
    assert voc.answer_of(f"{term}, as shown") is (value == "yes")


@pytest.mark.parametrize(("value", "term"), _terms("finding"), ids=[f"{v}:{t}" for v, t in _terms("finding")])
def test_finding_terms_name_their_finding(value: str, term: str) -> None:
    assert [m.value for m in voc.find(f"Is there {term} on the scan?", "finding")] == [value]


# Grammar words: how references are put together.
@pytest.mark.parametrize(("value", "term"), _terms("joiner"), ids=[t for _, t in _terms("joiner")])
def test_joiners_join_image_numbers(value: str, term: str) -> None:
    assert [0, 1] in _bound(f"Compare images 1 {term} 2.", [{}, {}])


@pytest.mark.parametrize(("value", "term"), _terms("preposition"), ids=[t for _, t in _terms("preposition")])
def test_prepositions_attach_a_date(value: str, term: str) -> None:
    assert [1] in _bound(f"Review the scan {term} 2021-03-04.", [{"study_date": "2020-01-10"}, {"study_date": "2021-03-04"}])


@pytest.mark.parametrize(("value", "term"), _terms("list_place"), ids=[t for _, t in _terms("list_place")])
def test_list_places_make_a_bare_ordinal_a_reference(value: str, term: str) -> None:
    phrase = f"the second {term}" if term == "offered" else f"the second in {term}"
    assert [1] in _bound(f"Which is it?\nA: the first image\nB: {phrase}", [{}, {}, {}])


@pytest.mark.parametrize(("value", "term"), _terms("filler"), ids=[t for _, t in _terms("filler")])
def test_fillers_stay_inside_a_reference(value: str, term: str) -> None:
    if term in ("position", "number"):
        assert [1] in _bound(f"Describe the image at {term} 2.", [{}, {}, {}])
    elif term == "hand":
        assert [0] in _bound("Describe the left-hand image.", [{}, {}])
    else:
        assert [1] in _bound(f"Describe the second {term} image.", [{}, {}, {}])


@pytest.mark.parametrize(("value", "term"), _terms("predicate"), ids=[t for _, t in _terms("predicate")])
def test_predicates_end_a_bare_ordinal(value: str, term: str) -> None:
    assert [0] in _bound(f"Looking at the second image, the first {term} the key one.", [{}, {}])


@pytest.mark.parametrize(("value", "term"), _terms("follow_up"), ids=[t for _, t in _terms("follow_up")])
def test_follow_up_cues_open_an_elliptical_question(value: str, term: str) -> None:
    assert is_follow_up(f"{term} in the third image?") and not is_follow_up("Is the third image normal?")


@pytest.mark.parametrize(("value", "term"), _terms("wh_word"), ids=[t for _, t in _terms("wh_word")])
def test_wh_words_ask_for_an_attribute(value: str, term: str) -> None:
    assert classify_question(f"{term} sequence is the first image?").ability == "coreference"
