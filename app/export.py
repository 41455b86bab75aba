"""Export a review as a Markdown file with its images, overlays and measurement plot (zipped).

The zip is written under ``<data>/public/exports`` with a name the server chooses; it is built in
the staging folder, so no patient image leaves the data directory on the way.
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from pathlib import Path

from mimir.app import render
from mimir.app.ids import new_thread_id
from mimir.app.service import ReviewService, findings_series
from mimir.domain import Answer, Event

#: Exports older than this are removed when a new one is written (the review screen has served them).
KEEP_EXPORTS_S = 3600


def export_review(service: ReviewService, thread_id: str) -> Path:
    """Write ``<data>/public/exports/<random>.zip`` holding review.md and its PNGs; returns the zip path."""
    review = service.review(thread_id)
    exports = service.public_dir / "exports"
    exports.mkdir(mode=0o700, exist_ok=True)
    _prune(exports)
    zpath = exports / f"review-{new_thread_id()}.zip"
    with tempfile.TemporaryDirectory(dir=service.staging_dir) as d:
        out = Path(d)
        (out / "review.md").write_text("\n".join(_document(service, review, out)) + "\n")
        (out / "review.json").write_text(json.dumps(review, default=str))
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(out.iterdir()):
                zf.write(f, f.name)
    return zpath


def _document(service: ReviewService, review: dict, out: Path) -> list[str]:
    case = review["case"]
    lines = [f"# Review {review['thread_id']}", "", f"Patient: {case.get('patient_id') or 'anonymous'}", "",
             f"**Question:** {case['question']}", "", "## Images", ""]
    for n, im in enumerate(case["images"]):
        name = f"image_{n + 1}.png"
        render.picture(service.image_path(im["image_id"])).save(out / name)
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
    series = findings_series(service.db, key) if key else {}
    if series:
        render.trajectory_plot(series, out / "measurements.png")
        lines += ["", "## Measurements over time", "", "![measurements](measurements.png)"]
    return lines


def _overlays(service: ReviewService, answer: Answer, case: dict, out: Path) -> list[str]:
    lines = []
    for st in answer.steps:
        if st.tool != "segment" or not st.tool_run_id or not st.image_indices:
            continue
        idx = st.image_indices[0]
        image_id = case["images"][idx]["image_id"]
        name = f"overlay_{st.tool_run_id}.png"
        mask = service.overlay_mask(st.tool_run_id, image_id)
        render.picture(service.image_path(image_id), None, mask).save(out / name)
        lines.append(f"![mask on image {idx + 1}]({name})")
    return lines


def _prune(folder: Path) -> None:
    cutoff = time.time() - KEEP_EXPORTS_S
    for old in folder.glob("review-*.zip"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
