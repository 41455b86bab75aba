"""What the review screen shows of a thread: its cards, its measurement tables, the viewer's panes.

Tool runs are read from the timeline by the ids the thread's own events name, and only when they are
the thread's patient's (a run of no patient, e.g. a comparison of numbers, is shown too).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mimir.app import cards, pictures
from mimir.app.measurements import Measurement, table
from mimir.app.review import ReviewService
from mimir.memory.models import Patient, ToolRun


def run_ids(events: list[dict[str, Any]]) -> list[int]:
    """The tool runs named by tool_result events, in order."""
    ids = [ev.get("data", {}).get("tool_run_id") for ev in events if ev.get("kind") == "tool_result"]
    return [int(i) for i in ids if i]


def tool_runs(service: ReviewService, review: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """{run id: tool, version, status, duration, full output, arguments} for the thread's runs."""
    ids = run_ids(review.get("events", []))
    key = review.get("case", {}).get("patient_id")
    if not ids:
        return {}
    with service.db.session() as s:
        patient_pk = s.scalar(select(Patient.id).where(Patient.patient_key == key)) if key else None
        rows = s.scalars(select(ToolRun).where(ToolRun.id.in_(ids)))
        return {r.id: {"tool": r.tool, "version": r.version, "status": r.status, "duration_s": r.duration_s,
                       "output": r.output if isinstance(r.output, dict) else {"value": r.output},
                       "arguments": r.arguments, "created": r.created_at.isoformat(timespec="seconds")}
                for r in rows if r.patient_id in (None, patient_pk)}


def study_thumbs(service: ReviewService, key: str | None) -> dict[int, int]:
    """A representative image per study of the patient (for choosing between studies)."""
    if not key:
        return {}
    from mimir.app.timeline_view import study_rows

    return {st.study.study_id: st.rows[0].view_image.image_id
            for st in study_rows(service.timeline(key)) if st.rows}


def tables(review: dict[str, Any], runs: dict[int, dict[str, Any]]) -> dict[int, list[Measurement]]:
    """The measurement table of each question of the thread."""
    return {k: table(run_ids(t.events), runs, cards.turn_images(t)) for k, t in enumerate(cards.turns(review))}


def labels_of(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The labels the runs found, each with its overlay colour (as the exports draw them)."""
    seen: dict[int, str] = {}
    for run in runs:
        for m in run.get("output", {}).get("measurements", []):
            seen.setdefault(int(m.get("value", 0)), str(m.get("label", "")))
    return [{"value": v, "name": n, "rgb": list(pictures.LABEL_COLOURS[(v - 1) % len(pictures.LABEL_COLOURS)][:3])}
            for v, n in sorted(seen.items()) if v > 0]


def pane(service: ReviewService, image_id: int, meta: dict[str, Any], tool_run_id: int | None = None) -> dict[str, Any]:
    """One viewer pane: the image's series as a volume, optionally a run's mask on it."""
    from mimir.app.volumes import stack_of

    with service.db.session() as s:
        stack = stack_of(s, image_id)
    return {"image_id": image_id, "volume_url": f"/api/images/{image_id}/volume.nii",
            "mask_url": f"/api/images/{image_id}/mask.nii?tool_run_id={tool_run_id}" if tool_run_id else None,
            "slice": stack.index, "date": meta.get("study_date") or "undated",
            "series": meta.get("series") or meta.get("series_description") or "image"}


def answer_view(service: ReviewService, review: dict[str, Any], runs: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The viewer after the last question: each segmented image with its mask, earliest first."""
    all_turns = cards.turns(review)
    if not all_turns:
        return None
    turn = all_turns[-1]
    images = cards.turn_images(turn)
    shown = []
    for rid in run_ids(turn.events):
        run = runs.get(rid)
        if not run or run["tool"] != "segment":
            continue
        idx = int(run["output"].get("image_index", -1))
        if 0 <= idx < len(images) and images[idx].get("image_id"):
            shown.append((images[idx], rid, run))
    if not shown:
        return None
    shown.sort(key=lambda x: (str(x[0].get("study_date") or ""), int(x[0].get("index", 0))))
    panes = [pane(service, int(im["image_id"]), im, rid) for im, rid, _ in shown[:2]]
    note = "" if len(shown) <= 2 else f"Showing the first two of {len(shown)} segmented images."
    return {"panes": panes, "labels": labels_of([r for _, _, r in shown]), "note": note}
