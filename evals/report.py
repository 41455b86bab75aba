"""Reports over run folders: Markdown and CSV tables, PNG plots (matplotlib, Agg), and run diffs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mimir.evals.items import EXCLUDED, ItemRecord
from mimir.evals.run_store import read_manifest, read_records
from mimir.evals.scoring import GroupSummary, RunSummary, summarize, summarize_group


class LoadedRun(BaseModel):
    """A run folder's label, records and summary."""

    label: str
    records: list[ItemRecord]
    summary: RunSummary


def load_run(run_dir: Path) -> LoadedRun:
    """Read a run folder (manifest and deduplicated records)."""
    manifest = read_manifest(run_dir)
    records = list(read_records(run_dir).values())
    label = f"{manifest.get('runner', '?')} ({Path(run_dir).name})"
    return LoadedRun(label=label, records=records, summary=summarize(records, manifest.get("runner", "")))


def _fmt(g: GroupSummary) -> str:
    if g.accuracy is None:
        return "-"
    return f"{g.accuracy:.3f} [{g.ci_low:.3f}, {g.ci_high:.3f}]"


def summary_table(summary: RunSummary, run_dir: Path | None = None) -> str:
    """A Markdown table of one run: per subset n, accuracy with interval, status counts."""
    head = "| subset | n | scored | accuracy [95% CI] | abstained | tool_failed | infra_error | missing_image |"
    lines = [f"Run {run_dir} (runner {summary.runner})" if run_dir else f"runner {summary.runner}", "",
             head, "|---|---|---|---|---|---|---|---|"]
    for name, g in [*summary.subsets.items(), ("all", summary.overall)]:
        c = g.counts
        lines.append(f"| {name} | {g.n} | {g.n_scored} | {_fmt(g)} | {c.get('abstained', 0)} | "
                     f"{c.get('tool_failed', 0)} | {c.get('infra_error', 0)} | {c.get('missing_image', 0)} |")
    return "\n".join(lines)


def _markdown(runs: list[LoadedRun]) -> str:
    parts = ["# Evaluation report", ""]
    for kind in ("subsets", "abilities", "sources"):
        names = list(dict.fromkeys(k for r in runs for k in getattr(r.summary, kind)))
        parts += [f"## Accuracy by {kind[:-1] if kind != 'abilities' else 'ability'} (closed items, 95% CI)", "",
                  "| group | " + " | ".join(r.label for r in runs) + " |", "|---" * (len(runs) + 1) + "|"]
        for n in names:
            cells = [_fmt(getattr(r.summary, kind)[n]) if n in getattr(r.summary, kind) else "-" for r in runs]
            parts.append(f"| {n} | " + " | ".join(cells) + " |")
        parts.append("")
    for r in runs:
        parts += [f"## {r.label}", "", summary_table(r.summary), ""]
    return "\n".join(parts)


def _csv_rows(runs: list[LoadedRun]) -> list[dict[str, Any]]:
    rows = []
    for r in runs:
        groups = [("overall", "all", r.summary.overall)]
        for kind in ("subsets", "abilities", "sources"):
            groups += [(kind[:-1] if kind != "abilities" else "ability", k, g)
                       for k, g in getattr(r.summary, kind).items()]
        for kind, name, g in groups:
            rows.append({"run": r.label, "group_kind": kind, "group": name, "n": g.n, "n_scored": g.n_scored,
                         "accuracy": g.accuracy, "ci_low": g.ci_low, "ci_high": g.ci_high, **g.counts,
                         **{f"open_{k}": v for k, v in g.open.items()}})
    return rows


def by_options(records: list[ItemRecord]) -> dict[int, GroupSummary]:
    """Closed-item accuracy grouped by number of options."""
    groups: dict[int, list[ItemRecord]] = {}
    for r in records:
        if r.closed:
            groups.setdefault(r.n_options, []).append(r)
    return {k: summarize_group(v) for k, v in sorted(groups.items())}


def write_report(run_dirs: list[Path], out: Path) -> list[Path]:
    """Write report.md, report.csv and three PNG plots into ``out``; return their paths."""
    from mimir.evals.plots import plot_latency, plot_options, plot_subsets

    runs = [load_run(Path(d)) for d in run_dirs]
    out.mkdir(parents=True, exist_ok=True)
    md, table = out / "report.md", out / "report.csv"
    md.write_text(_markdown(runs))
    rows = _csv_rows(runs)
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with table.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    labels = [r.label for r in runs]
    pngs = [
        plot_subsets(labels, [r.summary.subsets for r in runs], out / "accuracy_by_subset.png"),
        plot_options(labels, [by_options(r.records) for r in runs], out / "accuracy_by_options.png"),
        plot_latency(labels, [[x.latency_s for x in r.records if x.status not in EXCLUDED] for r in runs],
                     out / "latency.png"),
    ]
    return [md, table, *pngs]


class FlippedItem(BaseModel):
    """One item whose correctness differs between two runs."""

    key: str
    subset: str
    gold: str | None
    a_letter: str | None
    a_status: str
    a_correct: bool | None
    b_letter: str | None
    b_status: str
    b_correct: bool | None


def _correct(r: ItemRecord | None) -> bool | None:
    if r is None or not r.closed or r.status in EXCLUDED or r.score is None:
        return None
    return r.score >= 0.5


def diff_runs(run_a: Path, run_b: Path) -> list[FlippedItem]:
    """Closed items whose correctness (or scorability) changed from run A to run B."""
    a, b = read_records(run_a), read_records(run_b)
    read_manifest(run_a), read_manifest(run_b)
    changes = []
    for key in [k for k in a if k in b] + [k for k in b if k not in a] + [k for k in a if k not in b]:
        ra, rb = a.get(key), b.get(key)
        ca, cb = _correct(ra), _correct(rb)
        any_rec = ra or rb
        if ca == cb or any_rec is None or not any_rec.closed:
            continue
        changes.append(FlippedItem(key=key, subset=any_rec.subset, gold=any_rec.gold_letter,
                              a_letter=ra.letter if ra else None, a_status=ra.status if ra else "absent",
                              a_correct=ca, b_letter=rb.letter if rb else None,
                              b_status=rb.status if rb else "absent", b_correct=cb))
    return changes


def diff_table(changes: list[FlippedItem]) -> str:
    """A Markdown table of changed items with counts of gains and losses."""
    gained = sum(c.b_correct is True for c in changes)
    lost = sum(c.a_correct is True for c in changes)
    lines = [f"{len(changes)} items changed: {gained} now correct, {lost} no longer correct", "",
             "| item | subset | gold | A | B |", "|---|---|---|---|---|"]
    for c in changes:
        lines.append(f"| {c.key} | {c.subset} | {c.gold} | {c.a_letter} ({c.a_status}, {c.a_correct}) | "
                     f"{c.b_letter} ({c.b_status}, {c.b_correct}) |")
    return "\n".join(lines)
