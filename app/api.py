"""The HTTP API (FastAPI): patients, timelines, images, ingestion, questions streamed as SSE.

Refusals are exceptions mapped to status codes in one place (:mod:`mimir.app.refusals`): unknown
objects 404, objects of different patients combined 409, bad input 400, too large 413.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from mimir.app import pictures
from mimir.app.ids import PatientKeyParam, ThreadIdParam
from mimir.app.pacs import DicomExportResult
from mimir.app.review import ReviewService, findings_series
from mimir.app.schemas import AskRequest, IngestResult, PatientSummary, ResumeRequest, Timeline
from mimir.domain import Event

ImageId = Annotated[int, PathParam(ge=1, le=2**53 - 1)]
Responses = dict[int | str, dict[str, Any]]
PNG: dict[str, Any] = {"content": {"image/png": {}}, "description": "PNG image"}
SSE: dict[str, Any] = {"content": {"text/event-stream": {}},
                       "description": "Server-Sent Events; the last is 'answer' or 'interrupt'"}
NIFTI: dict[str, Any] = {"content": {"application/octet-stream": {}}, "description": "NIfTI-1 volume"}
REFUSED: Responses = {400: {}, 404: {}, 409: {}, 413: {}, 422: {}}
#: The upload's body, described by hand: the route reads it as a stream (mimir.app.multipart).
MULTIPART: dict[str, Any] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
}}}}}


def _sse(thread_id: str, events: Iterator[Event]) -> Iterator[str]:
    yield f"event: thread\ndata: {json.dumps({'thread_id': thread_id})}\n\n"
    for ev in events:
        yield f"event: {ev.kind}\ndata: {ev.model_dump_json()}\n\n"


def _stream(thread_id: str, events: Iterator[Event]) -> StreamingResponse:
    return StreamingResponse(iterate_in_threadpool(_sse(thread_id, events)), media_type="text/event-stream")


@contextmanager
def _pacs_refusals() -> Iterator[None]:
    """No PACS configured: 409 (the server's state, not the request, is missing); PACS down or failing: 502."""
    from mimir.app.pacs import PacsNotConfigured, PacsUnavailable

    try:
        yield
    except PacsNotConfigured as e:
        raise HTTPException(409, str(e)) from e
    except PacsUnavailable as e:
        raise HTTPException(502, str(e)) from e


def build_router(service: ReviewService, guard, upload_limit: int) -> APIRouter:  # FastAPI dependency
    """All API routes, bound to one service; ``upload_limit`` bytes per upload request."""
    r = APIRouter(prefix="/api", dependencies=[Depends(guard)])

    @r.get("/patients", response_model=list[PatientSummary])
    def patients(q: str = Query("", max_length=128)) -> list[PatientSummary]:
        """Patients whose id or name contains ``q``."""
        return service.patients(q)

    @r.get("/patients/{patient_key}/timeline", response_model=Timeline, responses=REFUSED)
    def timeline(patient_key: PatientKeyParam) -> Timeline:
        """A patient's studies in date order with their images."""
        return service.timeline(patient_key)

    @r.get("/patients/{patient_key}/findings.png", response_class=Response, responses={200: PNG, **REFUSED})
    def findings_plot(patient_key: PatientKeyParam) -> Response:
        """Each measured finding of the patient over time."""
        return Response(pictures.trajectory_png(findings_series(service.db, patient_key)), media_type="image/png")

    @r.get("/images/{image_id}/thumbnail", response_class=Response, responses={200: PNG, **REFUSED})
    def thumbnail(image_id: ImageId, size: int = Query(160, ge=32, le=1024)) -> Response:
        """A small picture of a timeline image (middle slice of a volume)."""
        img = pictures.picture(service.image_path(image_id))
        return Response(pictures.png_bytes(img, size), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=600"})

    @r.get("/images/{image_id}/view", response_class=Response, responses={200: PNG, **REFUSED})
    def view(image_id: ImageId, slice_index: int | None = Query(None, ge=0, le=100000),
             tool_run_id: int | None = Query(None, ge=1, le=2**53 - 1)) -> Response:
        """A timeline image, optionally with the mask of a segmentation run made on that image."""
        mask = service.overlay_mask(tool_run_id, image_id) if tool_run_id else None
        img = pictures.picture(service.image_path(image_id), slice_index, mask)
        return Response(pictures.png_bytes(img), media_type="image/png")

    @r.get("/images/{image_id}/volume.nii", response_class=Response, responses={200: NIFTI, **REFUSED})
    def volume(image_id: ImageId) -> Response:
        """The image's whole series as one NIfTI volume for the viewer; header X-Slice: the image's slice."""
        data, index = service.volume(image_id)
        return Response(data, media_type="application/octet-stream",
                        headers={"X-Slice": str(index), "Cache-Control": "private, max-age=600"})

    @r.get("/images/{image_id}/mask.nii", response_class=Response, responses={200: NIFTI, **REFUSED})
    def mask(image_id: ImageId, tool_run_id: int = Query(ge=1, le=2**53 - 1)) -> Response:
        """A segmentation run's labels on the grid of the image's volume (only a run made on this image)."""
        return Response(service.mask_volume(tool_run_id, image_id), media_type="application/octet-stream",
                        headers={"Cache-Control": "private, max-age=600"})

    @r.post("/ingest", response_model=IngestResult, responses=REFUSED, openapi_extra=MULTIPART,
            max_body_size=upload_limit)
    async def ingest(request: Request) -> IngestResult:
        """Upload DICOM (files or zip), NIfTI, PNG/JPEG with a manifest; all checked before storing."""
        from mimir.app.ingest import ingest_request

        return await ingest_request(service, request)

    @r.post("/ask", response_class=StreamingResponse, responses={200: SSE, **REFUSED})
    def ask(req: AskRequest) -> StreamingResponse:
        """Ask about one patient's images; events stream as SSE and the last one carries the answer."""
        thread_id, events = service.ask(req)
        return _stream(thread_id, events)

    @r.post("/threads/{thread_id}/resume", response_class=StreamingResponse, responses={200: SSE, **REFUSED})
    def resume(thread_id: ThreadIdParam, req: ResumeRequest) -> StreamingResponse:
        """Resume a thread that paused on an ambiguous reference, with the reviewer's choice."""
        return _stream(thread_id, service.resume(thread_id, req.choice))

    @r.post("/patients/{patient_key}/pacs-pull", response_model=IngestResult, responses={**REFUSED, 502: {}})
    def pacs_pull(patient_key: PatientKeyParam) -> IngestResult:
        """Pull the patient's studies from the configured PACS (DICOMweb); what is here already is skipped."""
        from mimir.app.pacs import pull_patient

        with _pacs_refusals():
            return IngestResult(**pull_patient(service, patient_key))

    @r.post("/threads/{thread_id}/dicom", response_model=DicomExportResult, responses={**REFUSED, 502: {}})
    def dicom_export(thread_id: ThreadIdParam, stow: bool = Query(False)) -> DicomExportResult:
        """The answer's SEG and SR (TID 1500); with ``stow`` also stored on the configured PACS."""
        from mimir.app.pacs import export_dicom

        with _pacs_refusals():
            return export_dicom(service, thread_id, stow)[0]

    @r.get("/threads/{thread_id}", responses=REFUSED)
    def thread(thread_id: ThreadIdParam) -> dict:
        """A saved review: its case and its events."""
        return service.review(thread_id)

    return r
