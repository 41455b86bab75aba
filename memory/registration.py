"""Intake: attach a case's images to the timeline by content hash and fill their missing metadata.

A case combines one patient's images only: :func:`check_one_patient` refuses a case whose timeline
images belong to several patients, or to another patient than the case names.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mimir.domain import Case, CaseImage
from mimir.memory.hashing import file_hash
from mimir.memory.models import Image, Patient, Series, Study
from mimir.settings import Settings

log = logging.getLogger(__name__)


def _enrich(img: CaseImage, row: Image, series: Series, study: Study) -> CaseImage:
    lat = img.laterality or (series.laterality if series.laterality in ("L", "R", "B") else None)
    return img.model_copy(update={
        "image_id": row.id,
        "study_date": img.study_date or study.study_date,
        "study_time": img.study_time or study.study_time,
        "modality": img.modality or series.modality or study.modality,
        "series_description": img.series_description or series.description,
        "view": img.view or series.view,
        "laterality": lat,
        "body_part": img.body_part or series.body_part or study.body_part,
    })


def _lookup(session: Session, path: Path) -> tuple[Image, Series, Study] | None:
    row = session.execute(
        select(Image, Series, Study)
        .join(Series, Image.series_id == Series.id)
        .join(Study, Series.study_id == Study.id)
        .where(Image.content_hash == file_hash(path))
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def _folder_row(session: Session, folder: Path) -> tuple[Image, Series, Study] | None:
    """The timeline row a series folder is known by: every file of the folder looked up, one series only.

    A tool reads the whole folder as one volume, so a folder whose known files belong to several
    series (or patients), or that mixes timeline files with unknown ones, is refused rather than
    labelled by one of its files.
    """
    files = sorted(p for p in folder.iterdir() if p.is_file())
    if not files:
        raise FileNotFoundError(f"Case image folder {folder} holds no files")
    rows = [_lookup(session, f) for f in files]
    known = [r for r in rows if r is not None]
    if not known:
        return None
    series = {r[1].id for r in known}
    if len(series) > 1 or len(known) < len(rows):
        raise ValueError(f"Case image folder {folder} is not one series: {len(series)} series in the timeline and "
                         f"{len(rows) - len(known)} files it does not know; give one series' folder")
    return known[0]


def register_case(session: Session, case: Case, settings: Settings) -> Case:
    """A copy of ``case`` whose images known to the timeline carry ``image_id`` and filled metadata.

    A DICOM series folder is known when all its files are one series of the timeline. Images not in
    the timeline are left as given: an anonymous file never creates a patient.
    """
    del settings  # reserved for copy-on-intake policies; lookups need only the session
    out: list[CaseImage] = []
    for img in case.images:
        path = Path(img.path)
        if path.is_dir():
            row = _folder_row(session, path)
        elif path.is_file():
            row = _lookup(session, path)
        else:
            raise FileNotFoundError(f"Case image {img.path} does not exist")
        if row is None:
            log.debug("case image %s is not in the timeline", img.path)
            out.append(img.model_copy())
        else:
            out.append(_enrich(img, *row))
    return case.model_copy(update={"images": out})


class PatientMismatch(ValueError):
    """A case, review or overlay would combine objects of different patients."""


def patients_of_images(session: Session, image_ids: list[int]) -> dict[int, str]:
    """The patient key of each known image id (ids the timeline does not know are left out)."""
    if not image_ids:
        return {}
    rows = session.execute(
        select(Image.id, Patient.patient_key)
        .join(Series, Image.series_id == Series.id)
        .join(Study, Series.study_id == Study.id)
        .join(Patient, Study.patient_id == Patient.id)
        .where(Image.id.in_(set(image_ids)))
    )
    return {int(i): str(k) for i, k in rows}


def check_one_patient(session: Session, case: Case) -> str | None:
    """The one patient of ``case`` (its ``patient_id``, else its timeline images' patient), or None.

    Raises PatientMismatch when the case's timeline images belong to more than one patient, or to
    another patient than ``case.patient_id``.
    """
    owners = patients_of_images(session, [i.image_id for i in case.images if i.image_id is not None])
    keys = sorted(set(owners.values()))
    if len(keys) > 1:
        by_key = {k: [n + 1 for n, i in enumerate(case.images) if owners.get(i.image_id or 0) == k] for k in keys}
        detail = "; ".join(f"images {v} belong to patient '{k}'" for k, v in by_key.items())
        raise PatientMismatch(f"one question combines one patient's images only: {detail}")
    if keys and case.patient_id is not None and keys[0] != case.patient_id:
        raise PatientMismatch(f"the images belong to patient '{keys[0]}', not to '{case.patient_id}'")
    return case.patient_id if case.patient_id is not None else (keys[0] if keys else None)
