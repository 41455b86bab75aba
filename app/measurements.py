"""The measurement table of a question: per visit and label, the size, diameters, change and category.

Values come from the tool runs' full results in the timeline (what the segmentation expert measured
and what the comparison concluded), never from the shortened summaries in the event stream.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

from pydantic import BaseModel

from mimir.app.wording import category_words

WHOLE = "whole lesion"


class Measurement(BaseModel):
    """One label on one image of a question."""

    image: int
    date: str
    label: str
    size: float | None = None
    unit: str = ""
    longest_mm: float | None = None
    perpendicular_mm: float | None = None
    change_pct: float | None = None
    category: str = ""
    tool_run_id: int | None = None


def _rows_of_run(run_id: int, out: dict[str, Any], images: list[dict[str, Any]]) -> list[Measurement]:
    idx = int(out.get("image_index", 0))
    day = str(images[idx].get("study_date") or "undated") if idx < len(images) else "undated"
    rows = []
    for m in out.get("measurements", []):
        size, unit = (m.get("volume_ml"), "mL") if m.get("volume_ml") is not None else (m.get("area_mm2"), "mm²")
        rows.append(Measurement(image=idx + 1, date=day, label=str(m.get("label", "")), size=size, unit=unit,
                                longest_mm=m.get("longest_diameter_mm"), perpendicular_mm=m.get("perpendicular_diameter_mm"),
                                tool_run_id=run_id))
    idx_lesion = out.get("index_lesion") or {}
    if idx_lesion.get("size") is not None and len(rows) > 1:
        unit = {"mm2": "mm²", "ml": "mL"}.get(str(idx_lesion.get("unit")), str(idx_lesion.get("unit") or ""))
        rows.append(Measurement(image=idx + 1, date=day, label=WHOLE, size=idx_lesion["size"], unit=unit,
                                longest_mm=idx_lesion.get("longest_diameter_mm"), tool_run_id=run_id))
    return rows


def table(run_ids: list[int], runs: dict[int, dict[str, Any]], images: list[dict[str, Any]]) -> list[Measurement]:
    """Rows for the segmentation runs of a question, in visit order, with change from the earlier visit."""
    rows: list[Measurement] = []
    category = ""
    for rid in run_ids:
        run = runs.get(rid)
        out = (run or {}).get("output") or {}
        if run and run.get("tool") == "segment":
            rows += _rows_of_run(rid, out, images)
        for change in out.get("changes", []) if run and run.get("tool") == "compare" else []:
            category = change.get("category") or category
    rows.sort(key=lambda r: (r.date, r.image))
    last: dict[str, float] = {}
    for r in rows:
        before = last.get(r.label)
        if before and r.size is not None:
            r.change_pct = round((r.size - before) / before * 100.0, 1)
        if r.size is not None:
            last[r.label] = r.size
    if category:
        for r in rows:
            if r.label == WHOLE and r.change_pct is not None:
                r.category = category
    return rows


def _num(x: float | None, unit: str = "") -> str:
    return "—" if x is None else f"{x:.4g}{(' ' + unit) if unit else ''}"


def measurement_table_html(rows: list[Measurement]) -> str:
    """The table as HTML, with each category explained in one line."""
    if not rows:
        return ""
    head = "<tr><th>visit</th><th>image</th><th>label</th><th>size</th><th>diameters (mm)</th><th>change</th></tr>"
    body = []
    for r in rows:
        diam = _num(r.longest_mm) + (f" × {_num(r.perpendicular_mm)}" if r.perpendicular_mm is not None else "")
        change = "—" if r.change_pct is None else f"{r.change_pct:+.1f} %"
        body.append(f"<tr><td>{escape(r.date)}</td><td>{r.image}</td><td>{escape(r.label)}</td>"
                    f"<td>{escape(_num(r.size, r.unit))}</td><td>{escape(diam)}</td><td>{escape(change)}</td></tr>")
    cats = sorted({r.category for r in rows if r.category})
    notes = "".join(f"<p class=\"category\">Category {escape(category_words(c))}.</p>" for c in cats)
    return f'<div class="card card-measure"><div class="card-title">Measurements</div><table class="measure-table">{head}{"".join(body)}</table>{notes}</div>'


def plot_png(rows: list[Measurement]) -> bytes | None:
    """Size per label over the visits (one line per label), readable at the screen's size."""
    by_label: dict[str, list[tuple[str, float]]] = {}
    unit = ""
    for r in rows:
        if r.size is not None:
            by_label.setdefault(r.label, []).append((r.date, r.size))
            unit = r.unit
    if not by_label or max(len(v) for v in by_label.values()) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 3.4), dpi=110)
    for label, points in by_label.items():
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", linewidth=2.5 if label == WHOLE else 1.5, label=label)
    ax.set_ylabel(f"size ({unit})", fontsize=11)
    ax.set_title("Lesion size per visit", fontsize=12)
    ax.tick_params(labelsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
