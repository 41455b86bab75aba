"""Scoring: closed accuracy by letter, open-answer text metrics, grouped summaries with bootstrap intervals.

Rules: infrastructure errors and missing images are left out of accuracy and counted apart;
abstentions and tool failures count as wrong and are counted apart. The chance runner contributes
its exact expectation (1/len(options)) per item, so its accuracy is exact, not sampled.
"""

from __future__ import annotations

import logging
import re
import string
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from mimir.evals.items import EXCLUDED, STATUSES, EvalItem, ItemRecord, RunnerOutput
from mimir.extras import missing_module

log = logging.getLogger(__name__)
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20250519
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_LETTER_PREFIX = re.compile(r"^\s*[A-Z]\s*:\s*")


def normalize(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD-style)."""
    text = _LETTER_PREFIX.sub("", text).lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(pred: str, gold: str) -> float:
    """Token-overlap F1 between normalised answers."""
    p, g = normalize(pred).split(), normalize(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


_CHECK_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _overlap_metrics_check() -> bool:
    if missing_module("judge") is None:
        return True
    log.warning("ROUGE-L and BLEU of open answers are left out: they need the 'judge' extra "
                "(pip install 'mimir[judge]'); exact match and token F1 are reported")
    return False


def overlap_metrics_installed() -> bool:
    """Whether ROUGE-L and BLEU can be computed (the 'judge' extra); says once, from any thread, when not."""
    with _CHECK_LOCK:
        return _overlap_metrics_check()



def open_scores(pred: str, gold: str) -> dict[str, float]:
    """Exact match, token F1 and, with the 'judge' extra, ROUGE-L F and sentence BLEU (0-100)."""
    scores = {
        "exact": float(normalize(pred) == normalize(gold) and bool(normalize(gold))),
        "f1": token_f1(pred, gold),
    }
    if overlap_metrics_installed():
        import sacrebleu

        scores["rougeL"] = float(_rouge().score(gold, pred)["rougeL"].fmeasure) if pred.strip() else 0.0
        scores["bleu"] = float(sacrebleu.sentence_bleu(pred, [gold]).score) if pred.strip() else 0.0
    return scores


def closed_score(item: EvalItem, out: RunnerOutput) -> float:
    """1/0 by letter; abstentions and tool failures score 0; an exact expectation is kept as is."""
    if out.expected_score is not None:
        return out.expected_score
    if out.status != "ok":
        return 0.0
    return float(out.letter is not None and out.letter == item.gold_letter)


def score_item(item: EvalItem, out: RunnerOutput) -> tuple[float | None, dict[str, float]]:
    """(closed score, open scores) of one answered item."""
    if item.closed:
        return closed_score(item, out), {}
    return None, open_scores(out.text, item.gold_text)


def bootstrap_interval(values: Iterable[float], resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile 95% interval of the mean (vectorised, fixed seed)."""
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(resamples, v.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


class GroupSummary(BaseModel):
    """Scores of one group of items (a subset, an ability, a source, or everything)."""

    n: int
    n_closed: int = 0
    n_scored: int = Field(0, description="Closed items in the accuracy (excluded statuses left out)")
    accuracy: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    counts: dict[str, int] = Field(default_factory=dict, description="Items by status")
    n_open_scored: int = 0
    open: dict[str, float] = Field(default_factory=dict, description="Mean open-answer metrics")


def summarize_group(records: list[ItemRecord]) -> GroupSummary:
    """Accuracy with interval, status counts and open metrics of a list of records.

    Records are taken in key order, so the bootstrap interval does not depend on the order in which
    items finished (concurrent and Ray runs finish in any order).
    """
    records = sorted(records, key=lambda r: r.key)
    counts = Counter(r.status for r in records)
    scored = [r.score for r in records if r.closed and r.status not in EXCLUDED and r.score is not None]
    opened = [r.open_scores for r in records if not r.closed and r.status not in EXCLUDED and r.open_scores]
    g = GroupSummary(n=len(records), n_closed=sum(r.closed for r in records), n_scored=len(scored),
                     counts={s: counts.get(s, 0) for s in STATUSES}, n_open_scored=len(opened))
    if scored:
        g.accuracy = float(np.mean(scored))
        g.ci_low, g.ci_high = bootstrap_interval(scored)
    if opened:
        keys = dict.fromkeys(k for o in opened for k in o)  # "judge" only where the judge ran
        g.open = {k: float(np.mean([o[k] for o in opened if k in o])) for k in keys}
    return g


def _grouped(records: list[ItemRecord], key: Callable[[ItemRecord], str]) -> dict[str, GroupSummary]:
    groups: dict[str, list[ItemRecord]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return {k: summarize_group(v) for k, v in groups.items()}


class RunSummary(BaseModel):
    """The scores of one run: overall, per subset, per ability, per source."""

    runner: str
    overall: GroupSummary
    subsets: dict[str, GroupSummary]
    abilities: dict[str, GroupSummary]
    sources: dict[str, GroupSummary]


def summarize(records: list[ItemRecord], runner: str = "") -> RunSummary:
    """Summaries of a run's (deduplicated) records, subsets in first-seen order."""
    return RunSummary(
        runner=runner or (records[0].runner if records else ""),
        overall=summarize_group(records),
        subsets=_grouped(records, lambda r: r.subset),
        abilities=_grouped(records, lambda r: r.ability),
        sources=_grouped(records, lambda r: r.source),
    )
