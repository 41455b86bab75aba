"""FAISS index construction and search: the index kind is chosen by collection size.

Below :data:`FLAT_MAX_VECTORS` vectors the index is exact (``IndexFlatIP``); above, it is IVF-Flat
(``IndexIVFFlat``, :func:`nlist_for` lists, trained on a sample of the first vectors added,
:data:`IVF_NPROBE` lists probed). HNSW (``IndexHNSWFlat``, M = :data:`HNSW_M`) remains available
by name. Vectors are L2-normalised, so inner product = cosine. Every index is wrapped in
``IndexIDMap2`` so that FAISS ids are mimir's vector ids; add vectors through :func:`add`, which
trains an IVF index on its first batch.

Filters run inside the search through ``SearchParameters(sel=...)``. With HNSW or IVF, a very
selective filter (few allowed vectors) is answered exactly over the allowed vectors instead,
because a graph walk or a few probed lists can miss allowed neighbours.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import faiss
import numpy as np

log = logging.getLogger(__name__)

IndexKind = Literal["flat", "ivf", "hnsw"]

#: Collections up to this many vectors use exact search (about 75 MB of 384-d vectors).
FLAT_MAX_VECTORS = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_NPROBE = 64
#: k-means iterations and training points per list when an IVF index is trained.
IVF_TRAIN_ITER = 10
IVF_TRAIN_PER_LIST = 40
#: With HNSW or IVF, filtered searches allowing at most this many vectors are answered exactly.
EXACT_FILTER_MAX = 20_000


def choose_kind(n_vectors: int) -> IndexKind:
    """The index kind for a collection of ``n_vectors``."""
    return "flat" if n_vectors <= FLAT_MAX_VECTORS else "ivf"


def nlist_for(n_vectors: int) -> int:
    """IVF list count for ``n_vectors``: the power of two nearest 4 * sqrt(N), at most 16384.

    Never more lists than leave :data:`IVF_TRAIN_PER_LIST` training points each (at least one list).
    """
    target = 4 * max(1, n_vectors) ** 0.5
    nlist = min(16384, 2 ** round(np.log2(target)))
    return int(max(1, min(nlist, n_vectors // IVF_TRAIN_PER_LIST)))


def make_index(dim: int, kind: IndexKind, n_vectors: int = 0) -> faiss.IndexIDMap2:
    """An empty inner-product index of ``kind`` whose ids are caller-chosen int64 ids.

    ``n_vectors`` (the expected collection size) sets the IVF list count; IVF needs :func:`add`.
    """
    if kind == "flat":
        inner: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == "ivf":
        inner = _make_ivf(dim, nlist_for(n_vectors or FLAT_MAX_VECTORS))
    else:
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        inner = hnsw
    return faiss.IndexIDMap2(inner)


def _make_ivf(dim: int, nlist: int) -> faiss.IndexIVFFlat:
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.nprobe = IVF_NPROBE
    ivf.cp.niter = IVF_TRAIN_ITER
    ivf.set_direct_map_type(faiss.DirectMap.Array)  # type: ignore[attr-defined]  # reconstruct() for exact filters
    return ivf


def add(index: faiss.Index, vecs: np.ndarray, ids: np.ndarray, seed: int = 0) -> None:
    """Add unit ``vecs`` under ``ids``; an untrained IVF index is first trained on a sample of them."""
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    train(index, vecs, seed)
    index.add_with_ids(vecs, np.ascontiguousarray(ids, dtype=np.int64))


def train(index: faiss.Index, vecs: np.ndarray, seed: int = 0) -> None:
    """Train an untrained IVF index on a sample of ``vecs`` (other kinds need no training)."""
    inner = _inner(index)
    if index.is_trained or not isinstance(inner, faiss.IndexIVF):
        return
    if len(vecs) < inner.nlist:
        raise ValueError(f"an IVF index of {inner.nlist} lists needs at least that many vectors to train")
    n_train = min(len(vecs), IVF_TRAIN_PER_LIST * inner.nlist)
    sample = np.sort(np.random.default_rng(seed).choice(len(vecs), n_train, replace=False))
    inner.cp.seed = seed
    index.train(np.ascontiguousarray(vecs[sample], dtype=np.float32))


def _inner(index: faiss.Index) -> Any:
    return faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index


def kind_of(index: faiss.Index) -> IndexKind:
    """The kind of a (possibly ID-mapped) index read back from disk."""
    inner = _inner(index)
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    return "ivf" if isinstance(inner, faiss.IndexIVF) else "flat"


def suits(index: faiss.Index, n_vectors: int) -> bool:
    """Whether ``index`` is the right kind (and, for IVF, list count within 4x) for ``n_vectors``."""
    kind = choose_kind(n_vectors)
    if kind_of(index) != kind:
        return False
    if kind != "ivf":
        return True
    ratio = _inner(index).nlist / nlist_for(n_vectors)
    return 0.25 <= ratio <= 4


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32, C-contiguous); zero rows stay zero."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def search(
    index: faiss.Index, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, ids) per query, restricted to ``allowed`` ids when given.

    Missing results are id -1. ``allowed`` must hold ids present in the index.
    """
    q = normalise(queries)
    k = max(1, k)
    if allowed is None:
        return index.search(q, k)
    allowed = np.ascontiguousarray(allowed, dtype=np.int64).ravel()
    if allowed.size == 0:
        return np.full((len(q), k), -np.inf, dtype=np.float32), np.full((len(q), k), -1, dtype=np.int64)
    kind = kind_of(index)
    if kind != "flat" and allowed.size <= EXACT_FILTER_MAX:
        return _exact_over(index, q, k, np.unique(allowed))
    selector, n_allowed, keep = _selector(allowed)
    params = _filter_params(index, kind, selector, n_allowed, k)
    result = index.search(q, k, params=params)
    del keep  # the bitmap must outlive the search
    return result


def _selector(allowed: np.ndarray) -> tuple[faiss.IDSelector, int, np.ndarray]:
    """(selector, distinct allowed count, array the selector reads) for ``allowed`` ids.

    A bitmap over ids 0..max: built in about a millisecond for a million ids, where a hash set
    (``IDSelectorBatch``) takes a hundred times longer. Negative ids fall back to the hash set.
    """
    if allowed.min() < 0:
        unique = np.unique(allowed)
        return faiss.IDSelectorBatch(unique), int(unique.size), unique
    bits = np.zeros(int(allowed.max()) + 1, dtype=bool)
    bits[allowed] = True
    packed = np.packbits(bits, bitorder="little")
    return faiss.IDSelectorBitmap(packed.size, faiss.swig_ptr(packed)), int(bits.sum()), packed


def _filter_params(index: faiss.Index, kind: IndexKind, selector: faiss.IDSelector,
                   n_allowed: int, k: int) -> faiss.SearchParameters:
    """Search parameters restricting to ``selector``, widened as the filter gets more selective."""
    fraction = max(n_allowed / max(1, index.ntotal), 1e-6)
    if kind == "hnsw":
        # Raise efSearch with selectivity so the graph walk still finds k allowed neighbours.
        ef = int(min(4096, max(HNSW_EF_SEARCH, HNSW_EF_SEARCH / fraction ** 0.5, 2 * k)))
        return faiss.SearchParametersHNSW(sel=selector, efSearch=ef)  # type: ignore[attr-defined]
    if kind == "ivf":
        # Probe more lists as fewer vectors are allowed, so about as many allowed vectors are scanned.
        nlist = _inner(index).nlist
        nprobe = int(min(nlist, max(IVF_NPROBE, IVF_NPROBE / fraction ** 0.5)))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]
    return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]


def _exact_over(
    index: faiss.Index, q: np.ndarray, k: int, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k over the stored vectors of ``allowed`` ids."""
    vecs = index.reconstruct_batch(allowed)
    sub = faiss.IndexIDMap2(faiss.IndexFlatIP(index.d))
    sub.add_with_ids(vecs, allowed)
    return sub.search(q, k)


def use_gpu_if_available(index: faiss.Index) -> faiss.Index:
    """A GPU copy of a flat index when faiss-gpu sees GPUs; else the index itself.

    HNSW and IVF stay on the CPU; GPU flat search gives the same results.
    """
    if kind_of(index) != "flat" or not hasattr(faiss, "get_num_gpus") or faiss.get_num_gpus() == 0:
        return index
    log.info("using %d GPU(s) for exact search", faiss.get_num_gpus())
    return faiss.index_cpu_to_all_gpus(index)
