"""FAISS index construction and search: the index kind is chosen by collection size.

Below :data:`FLAT_MAX_VECTORS` vectors the index is exact (``IndexFlatIP``); above, it is HNSW
(``IndexHNSWFlat``, M = :data:`HNSW_M`). Vectors are L2-normalised, so inner product = cosine.
Every index is wrapped in ``IndexIDMap2`` so that FAISS ids are mimir's vector ids.

Filters run inside the search through ``SearchParameters(sel=...)``. With HNSW, a very selective
filter (few allowed vectors) is answered exactly over the allowed vectors instead, because graph
search with a tiny allowed set can miss allowed neighbours.
"""

from __future__ import annotations

import logging
from typing import Literal

import faiss
import numpy as np

log = logging.getLogger(__name__)

IndexKind = Literal["flat", "hnsw"]

#: Collections up to this many vectors use exact search (about 75 MB of 384-d vectors).
FLAT_MAX_VECTORS = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
#: With HNSW, filtered searches allowing at most this many vectors are answered exactly.
EXACT_FILTER_MAX = 20_000


def choose_kind(n_vectors: int) -> IndexKind:
    """The index kind for a collection of ``n_vectors``."""
    return "flat" if n_vectors <= FLAT_MAX_VECTORS else "hnsw"


def make_index(dim: int, kind: IndexKind) -> faiss.IndexIDMap2:
    """An empty inner-product index of ``kind`` whose ids are caller-chosen int64 ids."""
    if kind == "flat":
        inner: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        inner = hnsw
    return faiss.IndexIDMap2(inner)


def kind_of(index: faiss.Index) -> IndexKind:
    """The kind of a (possibly ID-mapped) index read back from disk."""
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    return "hnsw" if isinstance(inner, faiss.IndexHNSW) else "flat"


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32, C-contiguous); zero rows stay zero."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def search(
    index: faiss.IndexIDMap2, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, ids) per query, restricted to ``allowed`` ids when given.

    Missing results are id -1. ``allowed`` must hold ids present in the index.
    """
    q = normalise(queries)
    k = max(1, k)
    if allowed is None:
        return index.search(q, k)
    allowed = np.ascontiguousarray(np.unique(allowed), dtype=np.int64)
    if allowed.size == 0:
        return np.full((len(q), k), -np.inf, dtype=np.float32), np.full((len(q), k), -1, dtype=np.int64)
    if kind_of(index) == "hnsw" and allowed.size <= EXACT_FILTER_MAX:
        return _exact_over(index, q, k, allowed)
    selector = faiss.IDSelectorBatch(allowed)
    if kind_of(index) == "hnsw":
        # Raise efSearch with selectivity so the graph walk still finds k allowed neighbours.
        fraction = allowed.size / max(1, index.ntotal)
        ef = int(min(4096, max(HNSW_EF_SEARCH, HNSW_EF_SEARCH / max(fraction, 1e-6) ** 0.5, 2 * k)))
        params: faiss.SearchParameters = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)  # type: ignore[attr-defined]
    else:
        params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
    return index.search(q, k, params=params)


def _exact_over(
    index: faiss.IndexIDMap2, q: np.ndarray, k: int, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k over the stored vectors of ``allowed`` ids."""
    vecs = index.reconstruct_batch(allowed)
    sub = faiss.IndexIDMap2(faiss.IndexFlatIP(index.d))
    sub.add_with_ids(vecs, allowed)
    return sub.search(q, k)


def use_gpu_if_available(index: faiss.IndexIDMap2) -> faiss.Index:
    """A GPU copy of a flat index when faiss-gpu sees GPUs; else the index itself.

    HNSW stays on the CPU (FAISS has no GPU HNSW); GPU flat search gives the same results.
    """
    if kind_of(index) != "flat" or not hasattr(faiss, "get_num_gpus") or faiss.get_num_gpus() == 0:
        return index
    log.info("using %d GPU(s) for exact search", faiss.get_num_gpus())
    return faiss.index_cpu_to_all_gpus(index)
