"""Export a review: Markdown with its pictures (zipped), or one self-contained HTML page.

Both hold every question of the thread with full provenance: each image's id, date, series and
slice; each tool step's tool, version, run id, status, duration and its whole result (never
shortened); the answer with its evidence; the measurements and their plot; each mask drawn on the
image it was made on. Files are written under ``<data>/public/exports`` with names the server
chooses, built in the staging folder, so no patient image leaves the data directory on the way.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import time
import zipfile
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from mimir import __version__
from mimir.app import cards, pictures, thread_view
from mimir.app.ids import new_thread_id
from mimir.app.measurements import Measurement, plot_png
from mimir.app.review import ReviewService
from mimir.domain import Answer

#: Exports older than this are removed when a new one is written (the review screen has served them).
KEEP_EXPORTS_S = 3600


def _folder(service: ReviewService) -> Path:
    exports = service.public_dir / "exports"
    exports.mkdir(mode=0o700, exist_ok=True)
    cutoff = time.time() - KEEP_EXPORTS_S
    for old in exports.glob("review-*"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return exports


def export_review(service: ReviewService, thread_id: str) -> Path:
    """Write ``<data>/public/exports/review-<random>.zip`` holding review.md, review.json and PNGs."""
    review = service.review(thread_id)
    zpath = _folder(service) / f"review-{new_thread_id()}.zip"
    with tempfile.TemporaryDirectory(dir=service.staging_dir) as d:
        out = Path(d)
        pngs = _pictures(service, review)
        for name, png in pngs.items():
            (out / name).write_bytes(png)
        (out / "review.md").write_text("\n".join(markdown(service, review, set(pngs))) + "\n")
        (out / "review.json").write_text(json.dumps(review, default=str, indent=1))
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(out.iterdir()):
                zf.write(f, f.name)
    return zpath


def _pictures(service: ReviewService, review: dict[str, Any]) -> dict[str, bytes]:
    """The PNGs of a review, by file name.

    image_q<N>_<i>.png for each image of each question, overlay_q<N>_image_<i>.png for each mask,
    measurements_q<N>.png for each question with measurements over two or more visits.
    """
    out: dict[str, bytes] = {}
    runs = thread_view.tool_runs(service, review)
    tables = thread_view.tables(review, runs)
    for q, turn in enumerate(cards.turns(review), start=1):
        images = cards.turn_images(turn)
        for im in images:
            if im.get("image_id"):
                n = int(im.get("index", 0)) + 1
                out[f"image_q{q}_{n}.png"] = pictures.png_bytes(pictures.picture(service.image_path(int(im["image_id"]))))
        for rid in thread_view.run_ids(turn.events):
            run = runs.get(rid)
            if not run or run["tool"] != "segment":
                continue
            idx = int(run["output"].get("image_index", -1))
            if 0 <= idx < len(images) and images[idx].get("image_id"):
                image_id = int(images[idx]["image_id"])
                mask = service.overlay_mask(rid, image_id)
                out[f"overlay_q{q}_image_{idx + 1}.png"] = pictures.png_bytes(
                    pictures.picture(service.image_path(image_id), None, mask))
        png = plot_png(tables.get(q - 1, []))
        if png:
            out[f"measurements_q{q}.png"] = png
    return out


def _image_rows(service: ReviewService, images: list[dict[str, Any]]) -> list[str]:
    from mimir.app.volumes import stack_of

    rows = ["| image | image id | date | modality | series | slice |", "|---|---|---|---|---|---|"]
    for im in images:
        where = "—"
        if im.get("image_id"):
            with service.db.session() as s:
                st = stack_of(s, int(im["image_id"]))
            where = f"{st.index + 1} of {len(st.paths)}" if len(st.paths) > 1 else "single image or volume"
        rows.append(f"| {int(im.get('index', 0)) + 1} | {im.get('image_id')} | {im.get('study_date') or 'undated'} | "
                    f"{im.get('modality') or ''} | {im.get('series') or ''} | {where} |")
    return rows


def _steps(turn: cards.Turn, runs: dict[int, dict[str, Any]]) -> list[str]:
    lines = ["| # | tool | version | run | images | status | duration (s) |", "|---|---|---|---|---|---|---|"]
    details: list[str] = []
    n = 0
    for ev in turn.events:
        if ev.get("kind") != "tool_result":
            continue
        n += 1
        d = ev.get("data", {})
        rid = d.get("tool_run_id")
        run = runs.get(int(rid)) if rid else None
        images = ", ".join(str(i + 1) for i in d.get("image_indices", [])) or "case"
        lines.append(f"| {n} | {ev.get('tool')} | {run['version'] if run else '—'} | {rid or '—'} | {images} | "
                     f"{d.get('status', 'ok')} | {float(d.get('duration_s', 0)):.3f} |")
        body = run["output"] if run else {"summary": d.get("summary"), "error": d.get("error")}
        details += ["", f"Step {n} ({ev.get('tool')}): arguments and full result", "", "```json",
                    json.dumps({"arguments": d.get("arguments", {}), "result": body}, indent=1, default=str), "```"]
    return lines + details if n else ["No tool ran."]


def _answer(turn: cards.Turn) -> list[str]:
    for ev in turn.events:
        if ev.get("kind") == "answer":
            d = ev.get("data", {})
            ans = Answer.model_validate(d.get("answer", d))
            head = f"**{ans.letter}** · {ans.text}" if ans.letter else ans.text
            if ans.status == "abstained":
                head = f"No answer: {ans.abstain_reason or ans.text}"
            lines = [head, "", "Evidence:"] + [f"- {e.statement} (tool runs {e.tool_run_ids or '—'})" for e in ans.evidence]
            lines += [f"- policy: {n}" for n in ans.policy_notes]
            lines += ["", "Timings: " + ", ".join(f"{k} {v:.3f} s" for k, v in ans.timings.items())] if ans.timings else []
            return lines
    return ["(no answer yet: the question is waiting for a choice)"]


def _measure_rows(rows: list[Measurement]) -> list[str]:
    if not rows:
        return []
    out = ["| visit | image | label | size | longest × perpendicular (mm) | change | category | run |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r.date} | {r.image} | {r.label} | {r.size} {r.unit} | {r.longest_mm} × {r.perpendicular_mm} | "
                   f"{'' if r.change_pct is None else f'{r.change_pct:+.1f} %'} | {r.category} | {r.tool_run_id} |")
    return out


def markdown(service: ReviewService, review: dict[str, Any], pictures: set[str]) -> list[str]:
    """The review as Markdown lines; ``pictures`` are the PNG names written beside it."""
    case = review["case"]
    runs = thread_view.tool_runs(service, review)
    tables = thread_view.tables(review, runs)
    lines = [f"# Review {review['thread_id']}", "", f"- Patient: {case.get('patient_id') or 'anonymous'}",
             f"- Started: {review['started']}", f"- Exported: {datetime.now().isoformat(timespec='seconds')}",
             f"- mimir {__version__}"]
    for q, turn in enumerate(cards.turns(review), start=1):
        images = cards.turn_images(turn)
        lines += ["", f"## Question {q}", "", turn.question, "", "### Images", ""] + _image_rows(service, images)
        lines += [""] + [f"![image {n}](image_q{q}_{n}.png)" for n in range(1, len(images) + 1)
                         if f"image_q{q}_{n}.png" in pictures]
        lines += ["", "### Steps", ""] + _steps(turn, runs) + ["", "### Answer", ""] + _answer(turn)
        rows = tables.get(q - 1, [])
        if rows:
            lines += ["", "### Measurements", ""] + _measure_rows(rows)
        lines += [f"![{name}]({name})" for name in sorted(pictures)
                  if name.startswith((f"overlay_q{q}_", f"measurements_q{q}."))]
    return lines


def export_html(service: ReviewService, thread_id: str) -> Path:
    """Write ``<data>/public/exports/review-<random>.html``: one page, pictures embedded."""
    review = service.review(thread_id)
    runs = thread_view.tool_runs(service, review)
    pngs = _pictures(service, review)
    body = cards.thread_html(review, runs, thread_view.study_thumbs(service, review["case"].get("patient_id")),
                             thread_view.tables(review, runs))
    body = re.sub(r'src="/api/images/(\d+)/thumbnail\?size=(\d+)"',
                  lambda m: f'src="{_data_uri(pictures.png_bytes(pictures.picture(service.image_path(int(m[1]))), int(m[2])))}"',
                  body)
    md = "\n".join(markdown(service, review, set(pngs)))
    figures = "".join(f'<figure><img src="{_data_uri(png)}" alt=""><figcaption>{escape(name)}</figcaption></figure>'
                      for name, png in pngs.items() if not name.startswith("image_"))
    css = (Path(__file__).parent / "static" / "review.css").read_text()
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Review {escape(thread_id)}</title>"
            f"<style>{css} body{{font-family:sans-serif;max-width:1000px;margin:auto}} figure img{{max-width:480px}}</style>"
            f"</head><body><div id=\"chat\">{body}</div><h2>Pictures</h2>{figures}"
            f"<h2>Provenance</h2><pre>{escape(md)}</pre></body></html>")
    path = _folder(service) / f"review-{new_thread_id()}.html"
    path.write_text(page)
    return path


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
