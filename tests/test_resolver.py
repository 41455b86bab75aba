"""The co-reference resolver on a table of phrasings and on every referring phrase of the real Med-MIM questions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.resolver_medmim import MEDMIM_DIR, distinct_phrases, oracle

from mimir.domain import Case
from mimir.memory.resolver import resolve

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "fixtures" / "resolver_cases.yaml").read_text())


def _case(question: str, row: dict[str, Any]) -> Case:
    images = row.get("images") or [{} for _ in range(row.get("n", 2))]
    return Case(question=question, images=[{"path": f"/img{i}.png", **m} for i, m in enumerate(images)])


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def test_table_has_at_least_150_phrasings() -> None:
    assert len(CASES) >= 150


@pytest.mark.parametrize("row", CASES, ids=[f"{i}:{r['q'][:40]}" for i, r in enumerate(CASES)])
def test_phrasing(row: dict[str, Any]) -> None:
    res = resolve(_case(row["q"], row))
    if row["mention"] is None:
        assert res.bindings == [], res
        return
    found = [b for b in res.bindings if _norm(b.mention) == _norm(row["mention"])]
    assert found, f"no binding for {row['mention']!r}: {[b.mention for b in res.bindings]}"
    b = found[0]
    assert b.image_indices == row["indices"], b
    assert bool(b.candidates) == bool(row.get("ambiguous", False)), b
    if b.candidates:
        assert res.ambiguous
    assert 0.0 <= b.confidence <= 1.0 and b.reason


def test_ambiguous_bindings_have_lower_confidence_than_clear_ones() -> None:
    dated = _case("Compare the prior with the first image.", {"images": [{"study_date": "2024-01-01"}, {"study_date": "2024-05-01"}]})
    undated = _case("Compare the prior with the first image.", {"n": 2})
    d, u = resolve(dated), resolve(undated)
    assert not d.ambiguous and u.ambiguous
    assert u.bindings[0].image_indices == d.bindings[0].image_indices == [0]
    assert u.bindings[0].confidence < d.bindings[0].confidence
    assert u.bindings[0].candidates[0] == [0]


MEDMIM = distinct_phrases() if MEDMIM_DIR.is_dir() else {}


@pytest.mark.skipif(not MEDMIM, reason=f"Med-MIM question files not found in {MEDMIM_DIR}")
def test_extractor_finds_the_known_phrase_families() -> None:
    phrases = {p for p, _ in MEDMIM}
    assert len(MEDMIM) > 120
    for expected in ("the first image", "the second x-ray image", "the last one",
                     "the first and second fundus images", "the first in sequence", "image at position two",
                     "the previous visit", "both images", "the middle offered", "the subsequent images"):
        assert expected in phrases


@pytest.mark.skipif(not MEDMIM, reason=f"Med-MIM question files not found in {MEDMIM_DIR}")
@pytest.mark.parametrize("key", sorted(MEDMIM), ids=[f"{n}img:{p}" for p, n in sorted(MEDMIM)])
def test_every_medmim_phrase_resolves(key: tuple[str, int]) -> None:
    phrase, n = key
    question = MEDMIM[key]
    res = resolve(Case(question=question, images=[{"path": f"/img{i}.png"} for i in range(n)]))
    found = [b for b in res.bindings if _norm(b.mention).removeprefix("both ") == phrase.removeprefix("both ")]
    assert found, f"{phrase!r} not bound in {question!r}: {[b.mention for b in res.bindings]}"
    expected = oracle(phrase, n)
    if expected is None:  # "both images" among three: the two images the stem names
        named = sorted({i for b in res.bindings if b is not found[0] and len(b.image_indices) == 1 for i in b.image_indices})
        expected = named
    assert found[0].image_indices == expected, found[0]
