"""What the review screen does on each action; plain functions over :class:`ReviewService`."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import gradio as gr
from PIL import Image as PILImage

from mimir.app import render
from mimir.app.errors import BadInput, NotFound, PatientMismatch, Unreadable
from mimir.app.schemas import AskByImages, AskByPatient
from mimir.app.service import ReviewService, findings_series
from mimir.domain import Answer, Event

History = list[dict[str, Any]]
#: What a question may be refused for; the reason goes into the chat.
REFUSALS = (BadInput, NotFound, PatientMismatch, Unreadable)


def patient_choices(service: ReviewService, query: str) -> list[tuple[str, str]]:
    """(label, patient key) pairs for the patient picker."""
    return [(f"{p.patient_key} · {p.n_studies} studies", p.patient_key) for p in service.patients(query or "")]


def _image_label(study: Any, img: Any) -> str:
    what = img.series_description or img.sequence or img.view or "image"
    side = f" {img.laterality}" if img.laterality else ""
    kind = f"{img.file_format}, middle of {img.series_size}" if img.series_size > 1 else img.file_format
    return f"{study.study_date or 'undated'} · {study.modality or '?'} · {what}{side} [{kind}] #{img.image_id}"


def on_patient(service: ReviewService, key: str | None) -> tuple:
    """Timeline text, the image choices, the patient's earlier reviews and the findings plot."""
    if not key:
        return "", gr.update(choices=[], value=[]), gr.update(choices=[]), None
    tl = service.timeline(key)
    lines = [f"**{key}**: {len(tl.studies)} studies"]
    choices = []
    for st in tl.studies:
        lines.append(f"- **{st.study_date or 'undated'}** {st.modality or ''} {st.description or ''} ({len(st.images)} images)")
        choices += [(_image_label(st, img), img.image_id) for img in st.images]
    past = [(f"{r['started']} · {r['question'][:40]}", r["thread_id"]) for r in _reviews_of(service, key)]
    return "\n".join(lines), gr.update(choices=choices, value=[]), gr.update(choices=past), _plot(service, key)


def _reviews_of(service: ReviewService, key: str) -> list[dict[str, str]]:
    return service.reviews.of_patient(key)


def _plot(service: ReviewService, key: str) -> PILImage.Image | None:
    series = findings_series(service.db, key)
    if not series:
        return None
    with PILImage.open(io.BytesIO(render.trajectory_png(series))) as im:
        return im.convert("RGB")


def on_images(service: ReviewService, ids: list[int] | None) -> list[tuple[Any, str]]:
    """Thumbnails of the chosen images, in question order."""
    return [(render.picture(service.image_path(i)), f"image {n + 1} (#{i})") for n, i in enumerate(ids or [])]


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


def _step_message(ev: Event) -> dict[str, Any]:
    d = ev.data
    where = ", ".join(f"image {i + 1}" for i in d.get("image_indices", [])) or "case"
    body = {"arguments": d.get("arguments", {}), "result": d.get("summary", "")}
    return {"role": "assistant", "content": f"```json\n{json.dumps(body, indent=1, default=str)[:1500]}\n```",
            "metadata": {"title": f"🛠 {ev.tool} on {where}", "status": "done",
                         "duration": round(float(d.get("duration_s", 0.0)), 3)}}


def _answer_text(ans: Answer, case: dict[str, Any]) -> str:
    head = f"**{ans.letter}** · {ans.text}" if ans.letter else ans.text
    if ans.status == "abstained":
        head = f"**Abstained:** {ans.abstain_reason or ans.text}"
    lines = [head]
    for b in ans.resolution.bindings:
        imgs = [case["images"][i] for i in b.image_indices if i < len(case["images"])]
        words = ", ".join(f"{im.get('modality') or 'image'} of {im.get('study_date') or 'unknown date'}" for im in imgs)
        lines.append(f"- “{b.mention}” → {words or b.image_indices} (images {[i + 1 for i in b.image_indices]})")
    for ev in ans.evidence:
        lines.append(f"- {ev.statement}")
    return "\n".join(lines)


def _overlays(ans: Answer, image_ids: list[int]) -> list[tuple[str, str]]:
    out = []
    for st in ans.steps:
        if st.tool == "segment" and st.tool_run_id and st.image_indices:
            idx = st.image_indices[0]
            if idx < len(image_ids):
                out.append((f"{st.tool} · image {idx + 1}", f"{st.tool_run_id}:{image_ids[idx]}"))
    return out


def on_overlay(service: ReviewService, pick: str | None, slice_index: float | None) -> Any:
    """Draw a segmentation run's mask on its image (slice ``slice_index`` of a volume)."""
    if not pick:
        return None
    run_id, image_id = (int(x) for x in pick.split(":"))
    mask = service.overlay_mask(run_id, image_id)
    path = service.image_path(image_id)
    volume = render.n_slices(path) > 1 and slice_index is not None
    return render.picture(path, int(slice_index) if volume and slice_index is not None else None, mask)


def _stream(service: ReviewService, events: Iterator[Event], thread_id: str, history: History,
            image_ids: list[int], key: str | None) -> Iterator[tuple]:
    keep = (gr.update(),) * 4
    hidden = (gr.update(visible=False), gr.update(visible=False))
    for ev in events:
        if ev.kind == "tool_result":
            history = [*history, _step_message(ev)]
            yield (history, thread_id, *keep, *hidden)
        elif ev.kind == "interrupt":
            cands = ev.data.get("candidates", [])
            opts = [(c.get("label") or f"image(s) {[i + 1 for i in c['image_indices']]}",
                     json.dumps(c["image_indices"] or [c["option"]])) for c in cands]
            why = ev.data.get("reason") or "it is ambiguous"
            history = [*history, {"role": "assistant", "content": f"“{ev.data.get('mention', '')}”: {why}. Please choose."}]
            yield (history, thread_id, *keep, gr.update(choices=opts, visible=True, value=None), gr.update(visible=True))
            return
        elif ev.kind == "answer":
            ans = Answer.model_validate(ev.data.get("answer", ev.data))
            case = service.review(thread_id).get("case", {})
            history = [*history, {"role": "assistant", "content": _answer_text(ans, case)}]
            overlays = _overlays(ans, image_ids)
            first = overlays[0][1] if overlays else None
            n = render.n_slices(service.image_path(int(first.split(":")[1]))) if first else 1
            yield (history, thread_id, on_overlay(service, first, None), _plot(service, key) if key else None,
                   gr.update(choices=overlays, value=first), gr.update(maximum=max(n - 1, 1), value=n // 2), *hidden)


def on_ask(service: ReviewService, question: str, ids: list[int] | None, key: str | None,
           thread_id: str | None, history: History | None) -> Iterator[tuple]:
    """Ask about the chosen images; tool steps and the answer stream into the chat."""
    history = [*(history or []), {"role": "user", "content": question}]
    if not ids and not key:
        yield (history + [{"role": "assistant", "content": "Choose a patient or at least one image first."}], thread_id,
               *(gr.update(),) * 4, gr.update(visible=False), gr.update(visible=False))
        return
    chosen = list(ids or [])
    request = (AskByImages(question=question, image_ids=chosen, patient_id=key, thread_id=thread_id) if chosen else
               AskByPatient(question=question, patient_id=str(key), thread_id=thread_id))  # the timeline picks the studies
    try:
        thread_id, events = service.ask(request)
    except REFUSALS as e:
        yield (history + [{"role": "assistant", "content": f"**Refused:** {e}"}], thread_id,
               *(gr.update(),) * 4, gr.update(visible=False), gr.update(visible=False))
        return
    yield from _stream(service, events, thread_id, history, chosen, key)


def on_resume(service: ReviewService, choice: str | None, thread_id: str, history: History,
              key: str | None) -> Iterator[tuple]:
    """Continue an interrupted thread with the reviewer's pick."""
    picked = json.loads(choice) if choice else []
    history = [*history, {"role": "user", "content": f"I meant image(s) {[i + 1 for i in picked]}."}]
    case = service.review(thread_id).get("case", {})
    ids = [im.get("image_id") for im in case.get("images", [])]
    yield from _stream(service, service.resume(thread_id, picked), thread_id, history, ids, key)


def on_review(service: ReviewService, thread_id: str | None) -> tuple[History, str | None]:
    """Reopen an earlier review: its question, tool steps and answer."""
    if not thread_id:
        return [], None
    try:
        review = service.review(thread_id)
    except NotFound:
        return [], None
    history: History = [{"role": "user", "content": review["case"]["question"]}]
    for raw in review["events"]:
        ev = Event.model_validate(raw)
        if ev.kind == "tool_result":
            history.append(_step_message(ev))
        elif ev.kind == "answer":
            history.append({"role": "assistant",
                            "content": _answer_text(Answer.model_validate(ev.data.get("answer", ev.data)), review["case"])})
    return history, thread_id


def on_export(service: ReviewService, thread_id: str | None) -> str | None:
    """Write the review as Markdown with its images and plot; returns a zip to download."""
    from mimir.app.export import export_review

    return str(export_review(service, thread_id)) if thread_id else None
