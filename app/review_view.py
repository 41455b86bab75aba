"""What the review screen does on each action; plain functions over :class:`ReviewService`.

Handlers return plain values (HTML, JSON for the viewer, file paths); the thread itself is read back
from the timeline after every event, so a live question and a reopened review show the same cards.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr
from PIL import Image as PILImage

from mimir.app import cards, thread_view
from mimir.app.measurements import plot_png
from mimir.app.refusals import BadInput, NotFound, PatientMismatch, Unreadable
from mimir.app.review import ReviewService
from mimir.app.schemas import AskByImages, AskByPatient
from mimir.app.timeline_view import comparisons, study_rows, timeline_html
from mimir.domain import Event

log = logging.getLogger(__name__)
#: What a question may be refused for; the reason goes into the chat.
REFUSALS = (BadInput, NotFound, PatientMismatch, Unreadable)
NO_VIEW = "null"
UNEXPECTED = ("The question stopped on an unexpected error in the server; the details are in its log. "
              "Ask again, or reopen the review from the list.")


def patient_choices(service: ReviewService, query: str) -> list[tuple[str, str]]:
    """(label, patient key) pairs for the patient picker."""
    return [(f"{p.patient_key} · {p.n_studies} studies", p.patient_key) for p in service.patients(query or "")]


def review_choices(service: ReviewService, key: str | None) -> list[tuple[str, str]]:
    """The patient's earlier reviews, newest first."""
    if not key:
        return []
    return [(f"{r['started']} · {r['question'][:50]}", r["thread_id"]) for r in service.reviews.of_patient(key)]


def on_patient(service: ReviewService, key: str | None) -> tuple:
    """A new patient: the timeline, no picks, the patient's reviews, an empty thread, viewer and plot."""
    hidden = gr.update(value=None, visible=False)
    if not key:
        return "", [], gr.update(choices=[], value=None), cards.thread_html(None, {}, {}), None, NO_VIEW, hidden
    html = timeline_html(service.timeline(key), [])
    return (html, [], gr.update(choices=review_choices(service, key), value=None),
            cards.thread_html(None, {}, {}), None, NO_VIEW, hidden)


def _rows(service: ReviewService, key: str) -> list[Any]:
    return study_rows(service.timeline(key))


def on_timeline(service: ReviewService, data: dict[str, Any], key: str | None, picked: list[int]) -> tuple:
    """A click in the timeline: pick a series for the question, view it, or compare latest with prior."""
    picked = list(picked or [])
    act, spec = data.get("act"), gr.update()
    spec_json: Any = spec
    if not key:
        return gr.update(), picked, spec_json
    if act == "pick":
        image_id = int(data.get("id", 0))
        picked = [i for i in picked if i != image_id] if image_id in picked else [*picked, image_id]
    elif act == "view":
        spec_json = json.dumps(_view(service, key, [int(data.get("id", 0))]))
    elif act == "compare":
        pair = next((c for c in comparisons(_rows(service, key)) if c.key == data.get("key")), None)
        if pair is not None:
            picked = [pair.prior.ask_image.image_id, pair.latest.ask_image.image_id]
            spec_json = json.dumps(_view(service, key, [pair.prior.view_image.image_id, pair.latest.view_image.image_id]))
    return timeline_html(service.timeline(key), picked), picked, spec_json


def _view(service: ReviewService, key: str, image_ids: list[int]) -> dict[str, Any]:
    """Viewer panes for timeline images of the patient (ids outside the patient's timeline are skipped)."""
    meta = {}
    for st in _rows(service, key):
        for row in st.rows:
            for im in row.forms:
                meta[im.image_id] = {"study_date": str(st.study.study_date or ""), "series": row.label}
    return {"panes": [thread_view.pane(service, i, meta[i]) for i in image_ids if i in meta], "labels": []}


def picked_html(service: ReviewService, key: str | None, picked: list[int]) -> str:
    """The images a question will be about, in order, or a note that the timeline decides."""
    if not key:
        return ""
    if not picked:
        return "<p class=\"picked\">No images picked: mimir chooses the studies from the timeline.</p>"
    names = {}
    for st in _rows(service, key):
        for row in st.rows:
            for im in row.forms:
                names[im.image_id] = f"{st.study.study_date or 'undated'} · {row.label}"
    chips = "".join(f"<span class=\"chip\">image {n + 1}: {names.get(i, i)}</span>" for n, i in enumerate(picked))
    return f"<p class=\"picked\">Question about: {chips}</p>"


def _outputs(service: ReviewService, thread_id: str, key: str | None, pending: str = "", done: bool = False) -> tuple:
    """(cards, viewer spec, plot, exports) of a thread; the viewer, plot and exports only when ``done``."""
    review = service.review(thread_id)
    runs = thread_view.tool_runs(service, review)
    tables = thread_view.tables(review, runs)
    html = cards.thread_html(review, runs, thread_view.study_thumbs(service, key), tables, pending)
    if not done:
        return html, gr.update(), gr.update(), gr.update(), gr.update()
    view = thread_view.answer_view(service, review, runs)
    last = tables.get(max(tables), []) if tables else []
    png = plot_png(last)
    plot = PILImage.open(io.BytesIO(png)).convert("RGB") if png else None
    md, page = _exports(service, thread_id)
    return html, json.dumps(view) if view else gr.update(), gr.update(value=plot, visible=plot is not None), md, page


def _exports(service: ReviewService, thread_id: str) -> tuple[str | None, str | None]:
    from mimir.app.review_export import export_html, export_review

    return str(export_review(service, thread_id)), str(export_html(service, thread_id))


def _pending(ev: Any) -> str:
    if ev.kind == "tool_started":
        return f"Running {ev.tool}: {ev.data.get('purpose') or ''}…"
    if ev.kind == "tool_progress":
        return f"{ev.tool}: {ev.data.get('message', '')} ({float(ev.data.get('fraction', 0)) * 100:.0f} %)"
    return "Working…"


def _stream(service: ReviewService, events: Iterator[Any], thread_id: str, key: str | None) -> Iterator[tuple]:
    """Re-render the thread as each event arrives; the last render carries the viewer, plot and exports."""
    reviews = gr.update(choices=review_choices(service, key), value=thread_id)
    yield (*_outputs(service, thread_id, key, "Reading the question…"), thread_id, reviews)
    last = None
    try:
        for ev in events:
            last = ev
            if ev.kind in ("answer", "interrupt"):
                continue
            yield (*_outputs(service, thread_id, key, _pending(ev)), thread_id, gr.update())
    except REFUSALS as e:  # e.g. a stored file went missing while the question ran
        service.reviews.append(thread_id, Event(kind="error", data={"message": str(e)}))
    except Exception:  # the screen's edge: the trace goes to the log, the reviewer gets words
        log.exception("question in thread %s stopped", thread_id)
        service.reviews.append(thread_id, Event(kind="error", data={"message": UNEXPECTED}))
    yield (*_outputs(service, thread_id, key, done=last is not None and last.kind == "answer"), thread_id, gr.update())


def _refused(message: str, thread_id: str | None) -> tuple:
    html = f'<div class="card card-step failed"><div class="card-title">Not asked</div><p>{message}</p></div>'
    return html, gr.update(), gr.update(), gr.update(), gr.update(), thread_id, gr.update()


def on_ask(service: ReviewService, question: str, picked: list[int] | None, key: str | None,
           thread_id: str | None) -> Iterator[tuple]:
    """Ask about the picked images, or about the patient when none is picked; cards stream in."""
    from html import escape

    question = (question or "").strip()
    if not question:
        yield _refused("Type a question first.", thread_id)
        return
    if not key:
        yield _refused("Choose a patient first.", thread_id)
        return
    chosen = list(picked or [])
    request = (AskByImages(question=question, image_ids=chosen, patient_id=key, thread_id=thread_id) if chosen else
               AskByPatient(question=question, patient_id=key, thread_id=thread_id))
    try:
        thread_id, events = service.ask(request)
    except REFUSALS as e:
        yield _refused(escape(str(e)), thread_id)
        return
    yield from _stream(service, events, thread_id, key)


def on_choose(service: ReviewService, data: dict[str, Any], thread_id: str | None, key: str | None) -> Iterator[tuple]:
    """The reviewer picked a candidate in the chooser: the thread resumes with it."""
    if not thread_id:
        return
    try:
        choice = [int(x) for x in json.loads(str(data.get("choice", "[]")))]
    except (ValueError, TypeError):
        return
    yield from _stream(service, service.resume(thread_id, choice), thread_id, key)


def on_review(service: ReviewService, thread_id: str | None, key: str | None) -> tuple:
    """Reopen an earlier review: every question with its cards, the viewer with its masks, the plot."""
    if not thread_id:
        return cards.thread_html(None, {}, {}), gr.update(), gr.update(), gr.update(), gr.update(), None
    try:
        return (*_outputs(service, thread_id, key, done=True), thread_id)
    except NotFound:
        return cards.thread_html(None, {}, {}), gr.update(), gr.update(), gr.update(), gr.update(), None


def on_upload(service: ReviewService, files: list[str] | None, key: str | None, progress: Any) -> tuple:
    """Ingest an upload through the API's code path; a rejection says why."""
    from mimir.app.ingest import ingest_local
    from mimir.app.uploads import UploadRejected

    if not files:
        return "Choose files first.", gr.update()
    try:
        result = ingest_local(service, list(files), progress=lambda frac, msg: progress(frac, desc=msg))
    except UploadRejected as e:
        return f"**Upload refused:** {e}", gr.update()
    c = result.counts
    msg = f"Ingested {c['ingested']}, skipped {c['skipped']}, failed {c['failed']}."
    return msg, gr.update(choices=patient_choices(service, ""), value=key)
