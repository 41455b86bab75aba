"""The review screen's PACS actions: pull a patient's studies from the configured server, export an answer as DICOM.

The server is always the configured one (``MIMIR_PACS__URL``): no address, path or file name comes
from a request. Patient keys and thread ids are checked by the routes before they arrive here.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from mimir.app.ids import is_identifier, new_thread_id
from mimir.app.refusals import NotFound
from mimir.app.review import ReviewService
from mimir.domain import Answer, Case, Event

#: DICOM exports older than this are removed when a new one is written (the review screen has served them).
KEEP_EXPORTS_S = 3600


class PacsUnavailable(RuntimeError):
    """The PACS could not be reached, was too slow, or refused the request."""


class PacsNotConfigured(PacsUnavailable):
    """No PACS is configured where mimir serves."""


class DicomExportResult(BaseModel):
    """What an export wrote (no server paths) and refused, and what the PACS stored."""

    patient_id: str | None
    objects: list[dict[str, Any]] = Field(default_factory=list)
    refused: list[dict[str, Any]] = Field(default_factory=list)
    stored: list[str] = Field(default_factory=list)


def _configured(service: ReviewService) -> None:
    if not service.settings.pacs.url:
        raise PacsNotConfigured("No PACS configured: set MIMIR_PACS__URL (and its credentials) where mimir serve runs")


def pull_patient(service: ReviewService, patient_key: str) -> dict[str, Any]:
    """Ingest the patient's studies from the configured PACS; counts and per-instance outcomes."""
    _configured(service)
    from mimir.memory.ingest.dicomweb import ingest_dicomweb
    from mimir.memory.ingest.pacs_client import PacsError

    try:
        report = ingest_dicomweb(service.db, service.settings, patient=patient_key)
    except PacsError as e:
        raise PacsUnavailable(str(e)) from e
    items = [i.model_dump(include={"status", "reason", "study_uid", "image_id"}) for i in report.items]
    return {"counts": report.counts, "items": items}


def _answered(service: ReviewService, thread_id: str) -> tuple[Case, Answer]:
    review = service.review(thread_id)
    answers = [Event.model_validate(e) for e in review["events"]]
    last = [e for e in answers if e.kind == "answer"]
    if not last:
        raise NotFound(f"Thread '{thread_id}' has no answer yet")
    return Case.model_validate(review["case"]), Answer.model_validate(last[-1].data.get("answer", last[-1].data))


def export_dicom(service: ReviewService, thread_id: str, stow: bool = False) -> tuple[DicomExportResult, Path]:
    """The answer's SEG and SR (and summary) zipped under ``<data>/public/exports``; optionally stored on the PACS.

    The objects are built in the staging folder; only the zip, under a name the server chooses, is public.
    """
    case, answer = _answered(service, thread_id)  # before the heavy imports: an unknown thread is answered at once
    if stow:
        _configured(service)
    from mimir.memory.ingest.pacs_client import PacsError
    from mimir.results.export import export_answer
    from mimir.results.stow import store

    exports = service.public_dir / "exports"
    exports.mkdir(mode=0o700, exist_ok=True)
    _prune(exports)
    zpath = exports / f"review-dicom-{new_thread_id()}.zip"
    with tempfile.TemporaryDirectory(dir=service.staging_dir) as d:
        report, datasets = export_answer(service.db, case, answer, Path(d))
        if stow:
            try:
                report.stored = store(service.settings, datasets)
            except PacsError as e:
                raise PacsUnavailable(str(e)) from e
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
            for o in report.objects:
                zf.write(o.path, Path(o.path).name)
    objects = [o.model_dump(exclude={"path"}) | {"file": Path(o.path).name} for o in report.objects]
    result = DicomExportResult(patient_id=report.patient_id, objects=objects,
                               refused=[r.model_dump() for r in report.refused], stored=report.stored)
    return result, zpath


def _prune(folder: Path) -> None:
    cutoff = time.time() - KEEP_EXPORTS_S
    for old in folder.glob("review-dicom-*.zip"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


def on_pull(service: ReviewService, key: str | None) -> str:
    """The review screen's "Pull from PACS": a one-line outcome for the selected patient."""
    if not key or not is_identifier(key):
        return "Choose a patient first."
    try:
        got = pull_patient(service, key)
    except PacsUnavailable as e:
        return f"**PACS:** {e}"
    c = got["counts"]
    failed = sorted({i["reason"] for i in got["items"] if i["status"] == "failed"})
    return f"From the PACS: {c['ingested']} new, {c['skipped']} already here, {c['failed']} failed." + (
        f" {failed[0]}" if failed else "")


def on_export_dicom(service: ReviewService, thread_id: str | None, stow: bool) -> tuple[str | None, str]:
    """The review screen's "Export as DICOM": the zip to download and what happened."""
    from mimir.results.export_errors import MixedPatients

    if not thread_id or not is_identifier(thread_id, 64):
        return None, "Ask a question first."
    try:
        result, zpath = export_dicom(service, thread_id, stow)
    except (PacsUnavailable, MixedPatients, NotFound) as e:
        return None, f"**DICOM export:** {e}"
    kinds = [o["kind"] for o in result.objects if o["kind"] != "TEXT"]
    msg = f"{kinds.count('SEG')} SEG and {kinds.count('SR')} SR written"
    msg += f", {len(result.stored)} stored on the PACS" if stow else ""
    msg += "".join(f"; not written as {r['kind']}: {r['reason']}" for r in result.refused)
    return str(zpath), msg + "."
