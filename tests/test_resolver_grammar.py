"""The reference grammar on phrases from report language: its design set, and a held-out set it was never tuned on."""

from __future__ import annotations

from typing import Any

import pytest
from fixtures.resolver_sets import binding_for, load_rows

from mimir import vocabulary as voc
from mimir.domain import Case
from mimir.memory.grammar import references
from mimir.memory.resolver import option_images, resolve

GRAMMAR = load_rows("resolver_grammar.yaml")
HELDOUT = load_rows("resolver_heldout.yaml")
#: Measured share of held-out phrases bound as written: 60 of 71 at first measurement, 66 of 71 when
#: this floor was set (after generic fixes: non-MR images have no sequence, "MRIs" is plural, "couple of").
HELDOUT_FLOOR = 0.9


@pytest.mark.parametrize("row", GRAMMAR, ids=[f"{i}:{r['q'][:40]}" for i, r in enumerate(GRAMMAR)])
def test_design_phrase(row: dict[str, Any]) -> None:
    good, found = binding_for(row)
    assert good, f"{row['mention']!r} should bind {row['indices']}; found {found}"


def test_heldout_phrases_bind_as_written() -> None:
    results = [(row, *binding_for(row)) for row in HELDOUT]
    share = sum(good for _, good, _ in results) / len(results)
    misses = [f"{r['mention']!r}: {found}" for r, good, found in results if not good]
    assert len(HELDOUT) >= 70
    assert share >= HELDOUT_FLOOR, f"{share:.3f} bound; misses: {misses}"


def test_grammar_reads_structure_not_phrases() -> None:
    parts = [[t.tag for t in r.tokens] for r in references("Compare the first two chest radiographs with the 2021 FLAIR.")]
    assert parts == [["D", "O", "Q", "B", "M"], ["D", "Y", "S"]]


def test_a_count_that_does_not_fit_is_ambiguous() -> None:
    images = [{"path": f"/i{i}.png", "modality": m} for i, m in enumerate(["DX", "DX", "DX"])]
    b = resolve(Case(question="Compare the two radiographs.", images=images)).bindings[0]
    assert b.candidates == [[0, 1], [0, 2], [1, 2]] and b.confidence < 0.5


def test_the_other_is_the_image_not_named_before() -> None:
    images = [{"path": "/a.png"}, {"path": "/b.png"}]
    res = resolve(Case(question="Is the lesion larger on the second image or on the other one?", images=images))
    assert [(b.mention, b.image_indices) for b in res.bindings] == [("the second image", [1]), ("the other one", [0])]


def test_non_references_stay_unbound() -> None:
    images = [{"path": "/a.png", "study_date": "2020-01-01"}, {"path": "/b.png", "study_date": "2021-01-01"}]
    for q in ("Is there a lesion in the left lung?", "Is there evidence of prior surgery?", "What is the size?",
              "Was the patient seen earlier?", "Is the mass 2 cm?"):
        assert resolve(Case(question=q, images=images)).bindings == [], q


def test_option_images_maps_each_option_to_what_it_names() -> None:
    q = ("Which scan shows the largest lesion?\nA: the penultimate scan\nB: scan #3\nC: the top-listed study\n"
         "D: none of them")
    mapping = option_images(
        Case(question=q, images=[{"path": f"/i{k}.png"} for k in range(3)]))
    assert mapping == {"A": [1], "B": [2], "C": [0], "D": []}


@pytest.mark.parametrize(("question", "want"), [
    ("Is the lesion larger on the scan just before the current one?", [2]),  # current: 2022 (image 1); before it 2021
    ("Is the lesion larger on the study immediately preceding the last scan?", [1]),  # last listed: 2021; before: 2020
    ("Is the lesion larger on the scan after the second one?", [2]),  # second listed: 2020; after it 2021
    ("Is the lesion larger on the one following the baseline?", [2]),
])
def test_a_visit_named_relative_to_another_binds_its_neighbour_in_time(question: str, want: list[int]) -> None:
    images = [{"path": f"/i{k}.png", "study_date": f"202{k}-01-01"} for k in (2, 0, 1)]  # listed out of time order
    res = resolve(Case(question=question, images=images))
    assert [b.image_indices for b in res.bindings if b.image_indices] == [want], res.bindings


def test_a_relation_to_an_image_with_no_neighbour_keeps_the_plain_reading() -> None:
    images = [{"path": f"/i{k}.png", "study_date": f"202{k}-01-01"} for k in range(2)]
    res = resolve(Case(question="Is it larger on the scan before the first one?", images=images))
    assert [b.image_indices for b in res.bindings if b.image_indices] == [[0]]


@pytest.mark.parametrize("word", [t for e in voc.vocabulary().concept("relation").values() for t in e.terms])
def test_every_relation_word_names_a_neighbouring_visit(word: str) -> None:
    images = [{"path": f"/i{k}.png", "study_date": f"202{k}-01-01"} for k in range(3)]
    res = resolve(Case(question=f"Is the lesion larger on the scan {word} the second one?", images=images))
    before = voc.find(word, "relation")[0].value == "before"
    assert [b.image_indices for b in res.bindings if b.image_indices] == [[0 if before else 2]], res.bindings


@pytest.mark.parametrize(("text", "want"), [("29/07/2018", "2018-07-29"), ("07/29/2018", "2018-07-29"),
                                            ("05.05.2020", "2020-05-05"), ("2018/07/29", "2018-07-29"),
                                            ("03/04/2018", "2018-04-03 or 2018-03-04")])
def test_numeric_dates_are_read_in_the_orders_that_are_dates(text: str, want: str) -> None:
    from mimir.memory.dates import dates_in

    assert [str(d) for d in dates_in(f"the scan of {text}")] == [want]


def test_panels_and_the_numero_sign_name_images_and_short_answers_read_as_yes_or_no() -> None:
    images = [{"path": f"/i{k}.png"} for k in range(3)]
    assert [b.image_indices for b in resolve(Case(question="What sequence is panel 2?", images=images)).bindings] == [[1]]
    assert [voc.answer_of(o) for o in ("Y", "N", "That's right", "That's not right")] == [True, False, True, False]


def test_a_date_that_reads_both_ways_binds_the_image_dated_on_either_and_stays_open_when_both_are() -> None:
    one_way = [{"path": "/a.png", "study_date": "2015-07-06"}, {"path": "/b.png", "study_date": "2016-01-20"}]
    both = [{"path": "/a.png", "study_date": "2015-07-06"}, {"path": "/b.png", "study_date": "2015-06-07"}]
    q = "Which scan was done on 06/07/2015?"
    assert [b.image_indices for b in resolve(Case(question=q, images=one_way)).bindings] == [[0]]
    [open_] = resolve(Case(question=q, images=both)).bindings
    assert open_.image_indices == [0, 1] and sorted(open_.candidates) == [[0], [1]]  # one image on each reading: asked, not guessed
