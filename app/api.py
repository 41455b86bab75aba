"""The HTTP API (FastAPI): patients, timelines, images, ingestion, questions streamed as SSE."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Query, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from mimir.app import render, uploads
from mimir.app.schemas import AskRequest, IngestResult, PatientSummary, ResumeRequest, Timeline
from mimir.app.service import NotFound, ReviewService, findings_series, tool_run_mask
from mimir.domain import Event

ImageId = Annotated[int, PathParam(ge=1, le=2**53 - 1)]
PNG = {"content": {"image/png": {}}, "description": "PNG image"}
SSE = {"content": {"text/event-stream": {}}, "description": "Server-Sent Events; the last is 'answer' or 'interrupt'"}


def _sse(thread_id: str, events: Iterator[Event]) -> Iterator[str]:
    yield f"event: thread\ndata: {json.dumps({'thread_id': thread_id})}\n\n"
    for ev in events:
        yield f"event: {ev.kind}\ndata: {ev.model_dump_json()}\n\n"


def _not_found(e: NotFound) -> HTTPException:
    return HTTPException(404, str(e))


def build_router(service: ReviewService, guard) -> APIRouter:  # noqa: ANN001 - FastAPI dependency
    """All API routes, bound to one service."""
    r = APIRouter(prefix="/api", dependencies=[Depends(guard)])

    @r.get("/patients", response_model=list[PatientSummary])
    def patients(q: str = Query("", max_length=128)) -> list[PatientSummary]:
        """Patients whose id or name contains ``q``."""
        return service.patients(q)

    @r.get("/patients/{patient_key}/timeline", response_model=Timeline, responses={404: {}})
    def timeline(patient_key: str) -> Timeline:
        """A patient's studies in date order with their images."""
        try:
            return service.timeline(patient_key)
        except NotFound as e:
            raise _not_found(e) from e

    @r.get("/patients/{patient_key}/findings.png", response_class=Response, responses={200: PNG, 404: {}})
    def findings_plot(patient_key: str) -> Response:
        """Each measured finding of the patient over time."""
        try:
            series = findings_series(service.db, patient_key)
        except NotFound as e:
            raise _not_found(e) from e
        with tempfile.TemporaryDirectory() as d:
            out = render.trajectory_plot(series, Path(d) / "plot.png")
            return Response(out.read_bytes(), media_type="image/png")

    @r.get("/images/{image_id}/thumbnail", response_class=Response, responses={200: PNG, 404: {}})
    def thumbnail(image_id: ImageId, size: int = Query(160, ge=32, le=1024)) -> Response:
        """A small picture of a timeline image (middle slice of a volume)."""
        try:
            img = render.picture(service.image_path(image_id))
        except NotFound as e:
            raise _not_found(e) from e
        return Response(render.png_bytes(img, size), media_type="image/png")

    @r.get("/images/{image_id}/view", response_class=Response, responses={200: PNG, 404: {}})
    def view(image_id: ImageId, slice_index: int | None = Query(None, ge=0, le=100000),
             tool_run_id: int | None = Query(None, ge=1, le=2**53 - 1)) -> Response:
        """A timeline image, optionally with a segmentation tool run's mask drawn over it."""
        try:
            mask = tool_run_mask(service.db, service.settings, tool_run_id) if tool_run_id else None
            img = render.picture(service.image_path(image_id), slice_index, mask)
        except NotFound as e:
            raise _not_found(e) from e
        return Response(render.png_bytes(img), media_type="image/png")

    @r.post("/ingest", response_model=IngestResult, responses={400: {}})
    def ingest(files: list[UploadFile] = File(...)) -> IngestResult:
        """Upload DICOM (files or zip), NIfTI, PNG/JPEG with a manifest; all checked before storing."""
        from mimir.app.ingest import ingest_uploads

        try:
            return ingest_uploads(service, files)
        except uploads.UploadRejected as e:
            raise HTTPException(400, str(e)) from e

    @r.post("/ask", response_class=StreamingResponse, responses={200: SSE, 400: {}, 404: {}})
    def ask(req: AskRequest) -> StreamingResponse:
        """Ask about a case; events stream as SSE and the last one carries the answer."""
        try:
            thread_id, events = service.ask(req)
        except NotFound as e:
            raise _not_found(e) from e
        except ValueError as e:
            raise HTTPException(400, str(e)) from e
        return StreamingResponse(iterate_in_threadpool(_sse(thread_id, events)), media_type="text/event-stream")

    @r.post("/threads/{thread_id}/resume", response_class=StreamingResponse, responses={200: SSE, 400: {}, 404: {}})
    def resume(thread_id: str, req: ResumeRequest) -> StreamingResponse:
        """Resume a thread that paused on an ambiguous reference, with the reviewer's choice."""
        try:
            events = service.resume(thread_id, req.choice)
        except NotFound as e:
            raise _not_found(e) from e
        return StreamingResponse(iterate_in_threadpool(_sse(thread_id, events)), media_type="text/event-stream")

    @r.get("/threads/{thread_id}", responses={404: {}})
    def thread(thread_id: str) -> dict:
        """A saved review: its case and its events."""
        try:
            return service.review(thread_id)
        except NotFound as e:
            raise _not_found(e) from e

    return r
