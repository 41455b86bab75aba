"""Export a review as a Markdown file with its images, overlays and measurement plot (zipped)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from mimir.app import render
from mimir.app.service import ReviewService, findings_series, tool_run_mask
from mimir.domain import Answer, Event


def export_review(service: ReviewService, thread_id: str) -> Path:
    """Write ``<data>/exports/<thread>.zip`` holding review.md and its PNGs; returns the zip path."""
    review = service.review(thread_id)
    case = review["case"]
    out = service.settings.data_dir / "exports" / thread_id
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    lines = [f"# Review {thread_id}", "", f"Patient: {case.get('patient_id') or 'anonymous'}", "",
             f"**Question:** {case['question']}", "", "## Images", ""]
    for n, im in enumerate(case["images"]):
        name = f"image_{n + 1}.png"
        render.picture(im["path"]).save(out / name)
        lines.append(f"![image {n + 1}: {im.get('modality') or ''} {im.get('study_date') or ''}]({name})")
    lines += ["", "## Steps", ""]
    answer = None
    for raw in review["events"]:
        ev = Event.model_validate(raw)
        if ev.kind == "tool_result":
            d = ev.data
            lines.append(f"- `{ev.tool}` on images {[i + 1 for i in d.get('image_indices', [])]}: "
                         f"{d.get('summary', '')} ({float(d.get('duration_s', 0)):.2f} s)")
        elif ev.kind == "answer":
            answer = Answer.model_validate(ev.data.get("answer", ev.data))
    if answer is not None:
        lines += ["", "## Answer", "", answer.text if answer.status != "abstained" else f"Abstained: {answer.abstain_reason}"]
        lines += [f"- {e.statement}" for e in answer.evidence]
        lines += _overlays(service, answer, case, out)
    key = case.get("patient_id")
    if key:
        series = findings_series(service.db, key)
        if series:
            render.trajectory_plot(series, out / "measurements.png")
            lines += ["", "## Measurements over time", "", "![measurements](measurements.png)"]
    (out / "review.md").write_text("\n".join(lines) + "\n")
    (out / "review.json").write_text(json.dumps(review, default=str))
    zpath = out.with_suffix(".zip")
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(out.iterdir()):
            zf.write(f, f.name)
    return zpath


def _overlays(service: ReviewService, answer: Answer, case: dict, out: Path) -> list[str]:
    lines = []
    for st in answer.steps:
        if st.tool != "segment" or not st.tool_run_id or not st.image_indices:
            continue
        idx = st.image_indices[0]
        name = f"overlay_{st.tool_run_id}.png"
        mask = tool_run_mask(service.db, service.settings, st.tool_run_id)
        render.picture(case["images"][idx]["path"], None, mask).save(out / name)
        lines.append(f"![mask on image {idx + 1}]({name})")
    return lines
