"""Scoring rules: letters, abstentions, infrastructure errors, exact chance, open metrics, intervals."""

from __future__ import annotations

import numpy as np

from mimir.evals.execute import make_record
from mimir.evals.items import EvalItem, RunnerOutput
from mimir.evals.scoring import bootstrap_interval, open_scores, summarize, summarize_group, token_f1


def _item(i: int, n_options: int = 4, gold: str = "B", closed: bool = True) -> EvalItem:
    opts = {chr(65 + k): f"opt {k}" for k in range(n_options)} if closed else {}
    return EvalItem(file="f.json", index=i, subset="s", ability="temporal", source="X", item_id="id",
                    stem="q", options=opts, gold_letter=gold if closed else None,
                    gold_text=f"{gold}: x" if closed else "benign", images=["a.png"])


def test_closed_accuracy_abstentions_wrong_infra_excluded():
    recs = [
        make_record(_item(0), "r", "ok", RunnerOutput(letter="B")),
        make_record(_item(1), "r", "ok", RunnerOutput(letter="C")),
        make_record(_item(2), "r", "abstained", RunnerOutput(status="abstained", abstain_reason="no evidence")),
        make_record(_item(3), "r", "tool_failed", RunnerOutput(status="tool_failed", letter="B")),
        make_record(_item(4), "r", "infra_error", error="connection refused"),
        make_record(_item(5), "r", "missing_image", error="missing"),
    ]
    g = summarize_group(recs)
    assert g.n == 6 and g.n_scored == 4
    assert g.accuracy == 0.25  # 1 right of ok/ok/abstained/tool_failed
    assert g.counts == {"ok": 2, "abstained": 1, "tool_failed": 1, "infra_error": 1, "missing_image": 1}


def test_chance_expectation_is_exact():
    recs = [make_record(_item(i, n), "chance", "ok", RunnerOutput(expected_score=1 / n))
            for i, n in enumerate([2, 3, 4, 7])]
    assert summarize_group(recs).accuracy == np.mean([1 / 2, 1 / 3, 1 / 4, 1 / 7])


def test_bootstrap_interval_contains_point_and_is_deterministic():
    rng = np.random.default_rng(1)
    values = (rng.random(300) < 0.6).astype(float)
    low, high = bootstrap_interval(values)
    assert low < values.mean() < high
    assert 0.08 < high - low < 0.14  # about 2 * 1.96 * sqrt(.24/300) = 0.11
    assert bootstrap_interval(values) == (low, high)
    assert bootstrap_interval([1.0] * 10) == (1.0, 1.0)


def test_open_metrics():
    s = open_scores("Benign.", "benign")
    assert s["exact"] == 1.0 and s["f1"] == 1.0 and s["rougeL"] == 1.0
    t = open_scores("the tumour is stable", "the tumour is progressing")
    assert t["exact"] == 0.0 and 0.5 < t["f1"] < 1.0 and 0.0 < t["rougeL"] < 1.0 and 0.0 <= t["bleu"] < 100
    assert token_f1("", "benign") == 0.0
    rec = make_record(_item(9, closed=False), "r", "ok", RunnerOutput(text="benign"))
    assert rec.score is None and rec.open_scores["exact"] == 1.0


def test_summary_groups_by_subset_ability_source():
    a = make_record(_item(0), "r", "ok", RunnerOutput(letter="B"))
    b = make_record(_item(1), "r", "ok", RunnerOutput(letter="A"))
    b.subset, b.source, b.ability = "t", "Y", "reasoning"
    s = summarize([a, b])
    assert s.subsets["s"].accuracy == 1.0 and s.subsets["t"].accuracy == 0.0
    assert set(s.sources) == {"X", "Y"} and set(s.abilities) == {"temporal", "reasoning"}
    assert s.overall.accuracy == 0.5


def test_summary_does_not_depend_on_finishing_order():
    rng = np.random.default_rng(3)
    recs = [make_record(_item(i), "r", "ok", RunnerOutput(letter="B" if rng.random() < 0.6 else "C"))
            for i in range(60)]
    shuffled = [recs[i] for i in rng.permutation(len(recs))]
    assert summarize_group(shuffled) == summarize_group(recs)
