"""Metadata of case images that the timeline does not know: read from DICOM headers (no pixels)."""

from __future__ import annotations

import logging
from pathlib import Path

from mimir.domain import Case, CaseImage

log = logging.getLogger(__name__)


def fill_from_headers(case: Case) -> Case:
    """A copy of ``case`` whose DICOM images without timeline ids carry their header metadata."""
    return case.model_copy(update={"images": [_fill(img) for img in case.images]})


def _fill(img: CaseImage) -> CaseImage:
    if img.image_id is not None or not _is_dicom(Path(img.path)):
        return img
    import pydicom
    from mimir.memory.ingest.dicom import record_from_dataset
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(img.path, stop_before_pixels=True)
    except (InvalidDicomError, OSError) as e:
        log.warning("cannot read DICOM header of %s: %s", img.path, e)
        return img
    rec = record_from_dataset(Path(img.path), ds, content_hash="")
    lat = rec.laterality if rec.laterality in ("L", "R", "B") else None
    return img.model_copy(update={
        "study_date": img.study_date or rec.study_date, "study_time": img.study_time or rec.study_time,
        "modality": img.modality or rec.modality, "laterality": img.laterality or lat,
        "series_description": img.series_description or rec.series_description or rec.sequence,
        "view": img.view or rec.view, "body_part": img.body_part or rec.body_part,
    })


def _is_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    try:
        with path.open("rb") as f:
            return f.read(132)[128:132] == b"DICM"
    except OSError:
        return False
