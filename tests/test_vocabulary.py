"""The clinical vocabulary: every term reads back as its own value, and report phrases read as a clinician would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mimir import vocabulary as voc

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "fixtures" / "vocabulary_cases.yaml").read_text())
TABLE = voc.vocabulary().table
ALL_TERMS = [(c, v, t) for c, values in TABLE.items() for v, e in values.items() for t in (*e.terms, *e.abbreviations)]


def _example(term: str) -> str:
    """A word the term reads: the term itself, with a starred ending completed and a gap filled with a noun."""
    return re.sub(r"\*", "", term).replace(" ... ", " scan ")


def test_table_loads_with_every_concept_the_code_names() -> None:
    assert set(TABLE) == set(voc.Concept.__args__)  # type: ignore[attr-defined]


@pytest.mark.parametrize("concept, value, term", ALL_TERMS, ids=[f"{c}:{v}:{t}" for c, v, t in ALL_TERMS])
def test_every_term_reads_as_its_value(concept: str, value: str, term: str) -> None:
    found = voc.find(f"[{_example(term)}]", concept)
    assert [m.value for m in found] == [value], found


def test_no_term_is_listed_twice_in_one_concept() -> None:
    for concept, values in TABLE.items():
        seen: dict[str, str] = {}
        for value, entry in values.items():
            for t in entry.terms:
                key = re.sub(r"[\s\-_]+", "", t.lower())
                assert seen.setdefault(key, value) == value, f"{concept}: {t!r} under {seen[key]} and {value}"


@pytest.mark.parametrize("row", CASES, ids=[r["text"] for r in CASES])
def test_report_phrases(row: dict[str, Any]) -> None:
    found = voc.find(row["text"], row["concept"])
    values = voc.values_in(row["text"], row["concept"])
    expected = row["value"]
    if expected is None:
        assert len(values) != 1, found
        return
    if "negated" in row:
        assert [m.negated for m in found if m.value == expected] == [row["negated"]], found
    else:
        assert values == [expected], found


def test_header_codes() -> None:
    assert voc.code_of("modality", "DX") == voc.code_of("modality", "cr") == "XR"
    assert voc.code_of("modality", "MG") == "MG"
    assert voc.code_of("laterality", "OS") == "L" and voc.code_of("laterality", "od") == "R"
    assert voc.code_of("view", "XCCL") == "CC"
    assert voc.code_of("view", "nonsense") is None and voc.code_of("view", None) is None


def test_typed_readers() -> None:
    assert voc.sequence_of("Which image is the post-gad T1?") == "T1C"
    assert voc.sequence_of(None) is None
    assert voc.change_of("The tumour has not enlarged") is None  # a negated increase asserts no category
    assert voc.change_of("partial response") == "decrease"  # a response category, not a resection
    assert voc.change_of("partial resection, smaller residual") == "partial"
    assert voc.resection_of("gross-total resection") == "gross_total"
    assert voc.superlative_of("the lowest tumour burden") == "least"
    assert voc.comparative_of("which has the lower burden") == "less"
    assert voc.answer_of("Yes, it has grown") is True and voc.answer_of("No") is False
    assert voc.answer_of("Not applicable") is None
    assert voc.ordinal_position("penultimate") == -2 and voc.ordinal_position("middle") == "middle"
    assert voc.cardinal_value("two") == 2 and voc.cardinal_value("lots") is None
    assert voc.name_of("sequence", "T1C") == "T1-weighted post-contrast"
    assert "post-gad*" in voc.terms("sequence", "T1C")
    assert re.search(voc.pattern("view", "MLO"), "the left MLO view")
    assert voc.is_negated("Which image does not show exudates?")


def test_a_reviewers_table_is_checked_on_load() -> None:
    with pytest.raises(ValueError, match="refines unknown value"):
        voc.load_table("sequence:\n  T1C:\n    refines: T9\n    terms: [T1C]\n")
    with pytest.raises(ValueError, match="start with a letter"):
        voc.load_table("sequence:\n  T1C:\n    terms: ['+C']\n")
    table = voc.load_table("answer:\n  no:\n    terms: [no, nope]\n")
    assert [m.value for m in table.raw("nope", "answer")] == ["no"]  # 'no' stays a word, not a YAML boolean
