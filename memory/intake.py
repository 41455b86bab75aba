"""Intake: attach a case's images to the timeline by content hash and fill their missing metadata."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mimir.domain import Case, CaseImage
from mimir.memory.hashing import file_hash
from mimir.memory.models import Image, Series, Study
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


def register_case(session: Session, case: Case, settings: Settings) -> Case:
    """A copy of ``case`` whose images known to the timeline carry ``image_id`` and filled metadata.

    Images not in the timeline are left as given: an anonymous file never creates a patient.
    """
    del settings  # reserved for copy-on-intake policies; lookups need only the session
    out: list[CaseImage] = []
    for img in case.images:
        path = Path(img.path)
        if not path.is_file():
            raise FileNotFoundError(f"Case image {img.path} does not exist")
        row = session.execute(
            select(Image, Series, Study)
            .join(Series, Image.series_id == Series.id)
            .join(Study, Series.study_id == Study.id)
            .where(Image.content_hash == file_hash(path))
        ).first()
        if row is None:
            log.debug("case image %s is not in the timeline", img.path)
            out.append(img.model_copy())
        else:
            out.append(_enrich(img, *row))
    return case.model_copy(update={"images": out})
