"""Metadata of case images that the timeline does not know: read from DICOM headers (no pixels)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mimir.domain import Case, CaseImage

log = logging.getLogger(__name__)


#: Header fields read per file, keyed by (path, size, mtime): a file that changes is read again.
HeaderCache = dict[tuple[str, int, int], dict[str, Any]]


def fill_from_headers(case: Case, cache: HeaderCache | None = None) -> Case:
    """A copy of ``case`` whose DICOM images without timeline ids carry their header metadata."""
    return case.model_copy(update={"images": [_fill(img, {} if cache is None else cache) for img in case.images]})


def _fill(img: CaseImage, cache: HeaderCache) -> CaseImage:
    if img.image_id is not None:
        return img
    try:
        st = Path(img.path).stat()
    except OSError:
        return img
    key = (img.path, st.st_size, st.st_mtime_ns)
    if key not in cache:
        probe = Path(img.path)  # a DICOM series folder is read from its first file
        probe = next((p for p in sorted(probe.iterdir()) if p.is_file()), probe) if probe.is_dir() else probe
        cache[key] = _read(str(probe)) if _is_dicom(probe) else {}
    found = cache[key]
    return img.model_copy(update={k: v for k, v in found.items() if getattr(img, k) is None}) if found else img


def _read(path: str) -> dict[str, Any]:
    """Metadata fields of one DICOM file (empty when unreadable)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from mimir.memory.ingest.dicom import record_from_dataset

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError) as e:
        log.warning("cannot read DICOM header of %s: %s", path, e)
        return {}
    rec = record_from_dataset(Path(path), ds, content_hash="")
    found = {"study_date": rec.study_date, "study_time": rec.study_time, "modality": rec.modality,
             "laterality": rec.laterality if rec.laterality in ("L", "R", "B") else None,
             "series_description": rec.series_description or rec.sequence, "view": rec.view, "body_part": rec.body_part}
    return {k: v for k, v in found.items() if v is not None}


def _is_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    try:
        with path.open("rb") as f:
            return f.read(132)[128:132] == b"DICM"
    except OSError:
        return False
