"""Retrieval at scale: build the index mimir chooses for N vectors and measure it.

Data: N unit vectors (384-d by default) from a Gaussian mixture of a few thousand clusters on the
unit sphere; each cluster varies along its own low-dimensional subspace (as sentence and image
embeddings do) with its own spread, plus a little isotropic noise; cluster sizes are uneven.
Queries are fresh draws from the same mixture. Prints build time, single-query latency (median,
p95), recall@10 against exact search (IndexFlatIP) and memory (RSS delta and index bytes),
for a sweep of IVF nprobe (or HNSW efSearch) values.

    python benchmarks/retrieval_bench.py --n 200000
    python benchmarks/retrieval_bench.py            # 1,000,000 vectors
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

import faiss
import numpy as np

from mimir.tools.retrieval import ann


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Mixture:
    """A Gaussian mixture on the unit sphere with per-cluster subspaces and spreads.

    Each cluster is a centre on the sphere plus variation along its own ``rank``-dimensional subspace
    with a decaying spectrum (as the principal components of real embedding clusters decay), scaled by
    a per-cluster spread, plus a little isotropic noise. After normalising, points sit at cosine
    0.6-0.95 from their centre; cluster sizes are uneven (Pareto weights).
    """

    def __init__(self, dim: int, clusters: int, rank: int, rng: np.random.Generator) -> None:
        self.dim, self.rank, self.rng = dim, rank, rng
        self.centers = ann.normalise(rng.standard_normal((clusters, dim)))
        self.bases = rng.standard_normal((clusters, rank, dim)).astype(np.float32) / np.sqrt(dim)
        decay = np.arange(1, rank + 1, dtype=np.float32) ** -0.7
        self.decay = decay / np.linalg.norm(decay)
        self.spreads = rng.uniform(0.35, 1.2, clusters).astype(np.float32)
        w = rng.pareto(1.5, clusters) + 1.0
        self.weights = w / w.sum()

    def sample(self, n: int) -> np.ndarray:
        counts = self.rng.multinomial(n, self.weights)
        out = np.empty((n, self.dim), dtype=np.float32)
        pos = 0
        for c, m in enumerate(counts):
            if m == 0:
                continue
            coeff = self.rng.standard_normal((m, self.rank)).astype(np.float32) * (self.decay * self.spreads[c])
            x = self.centers[c] + coeff @ self.bases[c]
            x += self.rng.standard_normal((m, self.dim)).astype(np.float32) * (0.15 * self.spreads[c] / np.sqrt(self.dim))
            out[pos:pos + m] = x
            pos += m
        perm = self.rng.permutation(n)
        return ann.normalise(out[perm])


def build(xb: np.ndarray, kind: ann.IndexKind) -> tuple[faiss.Index, float]:
    index = ann.make_index(xb.shape[1], kind, len(xb))
    t0 = time.perf_counter()
    ann.train(index, xb)
    if kind == "ivf":
        print(f"  trained {ann.nlist_for(len(xb))} lists  {time.perf_counter() - t0:8.1f} s", flush=True)
    step = 100_000
    for s in range(0, len(xb), step):
        index.add_with_ids(xb[s:s + step], np.arange(s, min(s + step, len(xb)), dtype=np.int64))
        print(f"  added {min(s + step, len(xb)):>9,} vectors  {time.perf_counter() - t0:8.1f} s", flush=True)
    return index, time.perf_counter() - t0


def exact_top(xb: np.ndarray, xq: np.ndarray, k: int) -> np.ndarray:
    flat = faiss.IndexFlatIP(xb.shape[1])
    flat.add(xb)
    return flat.search(xq, k)[1]


def measure(index: faiss.Index, xq: np.ndarray, truth: np.ndarray, k: int) -> dict[str, float]:
    lat = []
    found = np.empty((len(xq), k), dtype=np.int64)
    for i in range(len(xq)):
        t0 = time.perf_counter()
        _, ids = index.search(xq[i:i + 1], k)
        lat.append(time.perf_counter() - t0)
        found[i] = ids[0]
    n_recall = len(truth)
    hits = sum(len(set(found[i]) & set(truth[i])) for i in range(n_recall))
    ms = np.array(lat) * 1000
    return {"median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)),
            f"recall@{k}": hits / (n_recall * k)}


def sweep(index: faiss.Index, kind: str, a: argparse.Namespace, xq: np.ndarray,
          truth: np.ndarray) -> list[dict[str, float]]:
    """Unfiltered latency and recall for each efSearch (HNSW) or nprobe (IVF) value."""
    knob = {"hnsw": "efSearch", "ivf": "nprobe"}.get(kind, "exact")
    values = {"hnsw": a.ef, "ivf": a.nprobe}.get(kind, "0")
    inner: Any = faiss.downcast_index(index.index)  # type: ignore[attr-defined]
    runs = []
    for v in (int(e) for e in values.split(",")):
        if kind == "hnsw":
            inner.hnsw.efSearch = v
        elif kind == "ivf":
            inner.nprobe = v
        m = measure(index, xq, truth, 10)
        m[knob] = v
        runs.append(m)
        print(f"{knob}={v:>4}: median {m['median_ms']:.3f} ms, p95 {m['p95_ms']:.3f} ms, "
              f"recall@10 {m['recall@10']:.4f}  (load {os.getloadavg()[0]:.1f})", flush=True)
    return runs


def filtered(index: faiss.Index, xb: np.ndarray, xq: np.ndarray, fraction: float, k: int,
             rng: np.random.Generator) -> dict[str, float]:
    """Latency (whole ``ann.search`` call, selector included) and recall with a random filter."""
    allowed = np.sort(rng.choice(len(xb), max(1, int(fraction * len(xb))), replace=False)).astype(np.int64)
    truth = allowed[exact_top(xb[allowed], xq, k)]
    lat, hits = [], 0
    for i in range(len(xq)):
        t0 = time.perf_counter()
        _, ids = ann.search(index, xq[i:i + 1], k, allowed)
        lat.append(time.perf_counter() - t0)
        assert set(ids[0][ids[0] >= 0]) <= set(allowed.tolist()), "a result outside the filter"
        hits += len(set(ids[0]) & set(truth[i]))
    ms = np.array(lat) * 1000
    m = {"fraction": fraction, "allowed": float(allowed.size), "median_ms": float(np.median(ms)),
         "p95_ms": float(np.percentile(ms, 95)), f"recall@{k}": hits / (len(xq) * k)}
    print(f"filter {fraction:.3f} ({allowed.size:,} allowed): median {m['median_ms']:.2f} ms, "
          f"p95 {m['p95_ms']:.2f} ms, recall@{k} {m[f'recall@{k}']:.4f}", flush=True)
    return m


def index_bytes(index: faiss.Index) -> int:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return os.path.getsize(f.name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--clusters", type=int, default=3000)
    ap.add_argument("--queries", type=int, default=1000, help="single queries timed")
    ap.add_argument("--recall-queries", type=int, default=300, help="queries checked against exact search")
    ap.add_argument("--kind", choices=["auto", "flat", "ivf", "hnsw"], default="auto",
                    help="index kind (auto: the one mimir chooses for N)")
    ap.add_argument("--ef", default="32,64,96,128,192", help="HNSW efSearch values to sweep")
    ap.add_argument("--nprobe", default="16,32,48,64,96,128", help="IVF nprobe values to sweep")
    ap.add_argument("--filters", default="0.5,0.05,0.01", help="allowed fractions for filtered searches")
    ap.add_argument("--filter-queries", type=int, default=100, help="queries per filtered setting")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    t0 = time.perf_counter()
    mix = Mixture(a.dim, a.clusters, rank=32, rng=rng)
    xb, xq = mix.sample(a.n), mix.sample(a.queries)
    print(f"data: {a.n:,} x {a.dim} in {time.perf_counter() - t0:.1f} s; threads={faiss.omp_get_max_threads()}; "
          f"load {os.getloadavg()[0]:.1f}")
    rss0 = rss_mb()
    index, build_s = build(xb, ann.choose_kind(a.n) if a.kind == "auto" else a.kind)
    rss1 = rss_mb()
    kind = ann.kind_of(index)
    print(f"built {kind} in {build_s:.1f} s; RSS +{rss1 - rss0:.0f} MB")
    t0 = time.perf_counter()
    truth = exact_top(xb, xq[: a.recall_queries], 10)
    print(f"exact top-10 for {a.recall_queries} queries in {time.perf_counter() - t0:.1f} s")
    runs: list[dict[str, float]] = []
    result: dict[str, Any] = {"n": a.n, "dim": a.dim, "kind": kind, "build_s": build_s,
                                 "rss_delta_mb": rss1 - rss0, "index_bytes": index_bytes(index), "runs": runs}
    faiss.omp_set_num_threads(1)  # one query at a time: no OpenMP fan-out, as in a serving process
    runs.extend(sweep(index, kind, a, xq, truth))
    result["filtered"] = [filtered(index, xb, xq[: a.filter_queries], f, 10, rng)
                          for f in (float(x) for x in a.filters.split(",") if x)]
    print(f"index bytes: {result['index_bytes'] / 2**20:.0f} MiB")
    if a.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
