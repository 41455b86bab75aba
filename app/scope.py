"""One patient per request: the checks every request naming images, threads or tool runs passes.

A question combines one patient's images, and names that patient if it names any; an overlay draws
a tool run's mask only on the image the run was made on. Each check runs before anything is
written, and the database refuses the same combinations again (see ``mimir.memory.models``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mimir.app.refusals import NotFound, PatientMismatch, Unreadable
from mimir.app.schemas import AskByCase, AskByPatient, AskRequest
from mimir.domain import Case, CaseImage
from mimir.memory.models import Image, Patient, Series, Study, ToolRun
from mimir.memory.registration import check_one_patient, register_case
from mimir.settings import Settings


def stored_file(session: Session, image_id: int) -> Path:
    """The stored file of a timeline image; NotFound for an unknown id, Unreadable when it is gone."""
    img = session.get(Image, image_id)
    if img is None:
        raise NotFound(f"Unknown image id {image_id}")
    path = Path(img.storage_path)
    if not path.is_file():
        raise Unreadable(f"the stored file of image {image_id} is missing; ingest it again")
    return path


def case_for(session: Session, settings: Settings, req: AskRequest) -> Case:
    """The case a request describes, checked: known images of one patient, the one it names (if any).

    A question about a patient alone names no images: the planner takes them from that patient's timeline.
    """
    if isinstance(req, AskByPatient):
        if session.scalar(select(Patient.id).where(Patient.patient_key == req.patient_id)) is None:
            raise NotFound(f"Unknown patient '{req.patient_id}'")
        return Case(question=req.question, patient_id=req.patient_id)
    if isinstance(req, AskByCase):
        given = [CaseImage(path="", **im.model_dump()) for im in req.case.images]
        patient = req.case.patient_id
    else:
        given, patient = [CaseImage(path="", image_id=i) for i in req.image_ids], req.patient_id
    ids = [int(im.image_id or 0) for im in given]
    if patient is not None and session.scalar(select(Patient.id).where(Patient.patient_key == patient)) is None:
        raise NotFound(f"Unknown patient '{patient}'")
    images = [im.model_copy(update={"path": str(stored_file(session, i))}) for im, i in zip(given, ids, strict=True)]
    case = Case(question=req.question, images=images, patient_id=patient)
    case = case.model_copy(update={"patient_id": check_one_patient(session, case)})
    # Dates and series from the timeline, so answers can say "MR of <date>".
    return register_case(session, case, settings)


def overlay_mask(session: Session, settings: Settings, tool_run_id: int, image_id: int) -> Path:
    """The mask of a segmentation run made on ``image_id`` (of the same patient), under the data dir."""
    run = session.get(ToolRun, tool_run_id)
    if run is None:
        raise NotFound(f"Unknown tool run {tool_run_id}")
    row = session.execute(
        select(Image.content_hash, Study.patient_id)
        .join(Series, Image.series_id == Series.id).join(Study, Series.study_id == Study.id)
        .where(Image.id == image_id)
    ).first()
    if row is None:
        raise NotFound(f"Unknown image id {image_id}")
    content_hash, patient_pk = row
    if run.patient_id is not None and run.patient_id != patient_pk:
        raise PatientMismatch(f"tool run {tool_run_id} belongs to another patient than image {image_id}")
    if content_hash not in (run.input_hashes or []):
        raise PatientMismatch(f"tool run {tool_run_id} was not made on image {image_id}")
    root = settings.data_dir.resolve()
    for a in run.artifacts or []:
        m = Path(a)
        if str(a).endswith((".nii.gz", ".nii")) and m.resolve().is_relative_to(root) and m.is_file():
            return m
    raise NotFound(f"Tool run {tool_run_id} has no mask under the data directory")
