"""Filters run inside the FAISS search: results respect them even when most neighbours are excluded."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from mimir.tools.retrieval import ann


def _data(n: int = 3000, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ann.normalise(rng.standard_normal((n, d)))


def _exact(x: np.ndarray, q: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    scores = x[allowed] @ q
    return [int(allowed[i]) for i in np.argsort(-scores)[:k]]


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
@pytest.mark.parametrize("exact_filter_max", [20_000, 10])
def test_filtered_search_returns_only_allowed_ids_even_when_neighbours_are_excluded(kind, exact_filter_max, monkeypatch):
    # 10: HNSW walks the graph, IVF scans its probed lists, each with a selector
    monkeypatch.setattr(ann, "EXACT_FILTER_MAX", exact_filter_max)
    x = _data()
    ids = np.arange(x.shape[0], dtype=np.int64) * 7 + 3  # ids are not positions
    index = ann.make_index(x.shape[1], kind, len(x))
    ann.add(index, x, ids)
    assert ann.kind_of(index) == kind
    q = x[0]
    nearest = index.search(q[None], 50)[1][0]
    # Allow every 10th vector, and none of the 50 nearest: a post-filter of the top 50 would find nothing.
    allowed_pos = np.array([i for i in range(0, x.shape[0], 10) if ids[i] not in set(nearest)])
    allowed = ids[allowed_pos]
    scores, found = ann.search(index, q[None], 3, allowed)
    assert len(found[0]) == 3 and set(found[0]) <= set(allowed)
    truth = [int(ids[p]) for p in _exact(x, q, allowed_pos, 3)]
    assert list(found[0]) == truth
    assert np.all(np.diff(scores[0]) <= 1e-6)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_tiny_filter_finds_every_allowed_vector(kind):
    x = _data(n=2000)
    index = ann.make_index(x.shape[1], kind, len(x))
    ann.add(index, x, np.arange(2000, dtype=np.int64))
    allowed = np.array([5, 900, 1999], dtype=np.int64)
    _, found = ann.search(index, x[10][None], 10, allowed)
    assert sorted(i for i in found[0] if i >= 0) == [5, 900, 1999]


def test_empty_filter_returns_nothing():
    x = _data(n=100)
    index = ann.make_index(x.shape[1], "flat")
    index.add_with_ids(x, np.arange(100, dtype=np.int64))
    _, found = ann.search(index, x[:1], 5, np.array([], dtype=np.int64))
    assert (found == -1).all()


def test_index_kind_follows_collection_size():
    assert ann.choose_kind(10) == "flat"
    assert ann.choose_kind(ann.FLAT_MAX_VECTORS) == "flat"
    assert ann.choose_kind(ann.FLAT_MAX_VECTORS + 1) == "ivf"
    assert ann.kind_of(ann.make_index(8, "hnsw")) == "hnsw"
    assert ann.kind_of(ann.make_index(8, "flat")) == "flat"
    assert ann.kind_of(ann.make_index(8, "ivf")) == "ivf"
    assert ann.nlist_for(1_000_000) == 4096 and ann.nlist_for(300_000) == 2048


def test_ivf_lists_follow_growth_and_vectors_survive_a_round_trip(tmp_path):
    x = _data(n=3000)
    index = ann.make_index(x.shape[1], "ivf", len(x))
    ann.add(index, x, np.arange(3000, dtype=np.int64) + 100)
    assert ann.suits(index, 200_000) is False  # 256 lists are too few for 200k vectors: re-created on save
    assert ann.suits(ann.make_index(8, "ivf", 60_000), 60_000) is True
    path = tmp_path / "ivf.faiss"
    faiss.write_index(index, str(path))
    back = faiss.read_index(str(path))
    assert ann.kind_of(back) == "ivf"
    np.testing.assert_allclose(back.reconstruct_batch(np.array([100, 3099])), x[[0, 2999]], atol=1e-6)
    _, found = ann.search(back, x[7][None], 1)
    assert found[0][0] == 107


def test_ivf_needs_enough_vectors_to_train():
    index = ann.make_index(8, "ivf", 1_000_000)
    with pytest.raises(ValueError, match="4096 lists"):
        ann.add(index, _data(n=100, d=8), np.arange(100, dtype=np.int64))


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_filter_excluding_only_the_nearest_vector_skips_just_that_one(kind, monkeypatch):
    monkeypatch.setattr(ann, "EXACT_FILTER_MAX", 10)  # broad filters go through the bitmap selector
    x = _data()
    index = ann.make_index(x.shape[1], kind, len(x))
    ann.add(index, x, np.arange(len(x), dtype=np.int64))
    ann_ids = np.arange(len(x), dtype=np.int64)
    _, unfiltered = ann.search(index, x[4][None], 5)
    assert unfiltered[0][0] == 4
    _, found = ann.search(index, x[4][None], 4, ann_ids[ann_ids != 4])
    assert list(found[0]) == list(unfiltered[0][1:])


def test_negative_ids_are_filtered_too():
    x = _data(n=200)
    index = ann.make_index(x.shape[1], "flat")
    ids = np.arange(200, dtype=np.int64) - 100
    ann.add(index, x, ids)
    _, found = ann.search(index, x[0][None], 3, np.array([-100, -7, 50, 50]))
    assert sorted(found[0]) == [-100, -7, 50]
