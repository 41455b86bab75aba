"""DICOM headers to ``ImageRecord``: pydicom, pixels deferred (never decoded at ingest)."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag, Tag

from mimir.memory.ingest.dicom_scan import fast_values
from mimir.memory.ingest.records import (
    BadFile,
    ImageRecord,
    SkipFile,
    derived_uid,
    guess_sequence,
    norm_laterality,
)

_PIXEL_TAGS = (Tag(0x7FE00010), Tag(0x7FE00008), Tag(0x7FE00009))  # PixelData, FloatPixelData, DoubleFloatPixelData
_UNDEFINED = 0xFFFFFFFF
#: The only attributes ingest reads: parsing just these keeps header reads fast.
_WANTED: list[BaseTag] = [Tag(k) for k in (
    "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "SeriesInstanceUID",
    "SOPInstanceUID", "SOPClassUID", "StudyDate", "SeriesDate", "AcquisitionDate", "StudyTime", "StudyID",
    "AccessionNumber", "Modality", "StudyDescription", "SeriesDescription", "ProtocolName", "BodyPartExamined",
    "ViewPosition", "ImageLaterality", "Laterality", "SeriesNumber", "InstanceNumber", "Rows", "Columns",
    "NumberOfFrames", "PixelSpacing", "ImagerPixelSpacing", "SliceThickness", "DirectoryRecordSequence",
)] + list(_PIXEL_TAGS)
_DEFER = 1024
_HEAD = 1 << 20  # bytes read per chunk; files larger than _WHOLE are parsed from their first chunk only
_WHOLE = 64 << 20
Getter = Callable[[str], Any]


def parse_da(value: Any) -> date | None:
    """A DICOM DA value (YYYYMMDD) as a date; None when empty or malformed."""
    text = str(value or "").strip()[:8]
    try:
        if len(text) == 8 and text.isascii() and text.isdigit():  # the common case, without strptime
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _read(path: Path, force: bool) -> tuple[Dataset, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = pydicom.dcmread(path, defer_size=_DEFER, force=force, specific_tags=_WANTED)
    return ds, [str(w.message) for w in caught]


def _looks_like_dicom(ds: Dataset) -> bool:
    """A file read with force=True is believed only if it carries real identifying tags."""
    return any(k in ds for k in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID")) and (
        any(t in ds._dict for t in _PIXEL_TAGS) or "Modality" in ds
    )


def load_dataset(path: Path) -> Dataset:
    """Read headers; raise SkipFile/BadFile with a reason a person can act on."""
    try:
        ds, msgs = _read(path, force=False)
    except InvalidDicomError as e:
        if path.suffix.lower() not in (".dcm", ".dicom", ""):
            raise SkipFile(f"not a DICOM file: {e}") from e
        try:  # raw datasets without the 128-byte preamble are still DICOM
            ds, msgs = _read(path, force=True)
        except (OSError, ValueError, EOFError, KeyError, TypeError, NotImplementedError) as e2:
            raise SkipFile(f"not a DICOM file: {e2}") from e2
        if not _looks_like_dicom(ds):
            raise SkipFile(f"not a DICOM file: {e}") from e
    except (EOFError, OSError, ValueError, KeyError, TypeError, NotImplementedError) as e:
        raise BadFile(f"truncated or malformed: {type(e).__name__}: {e}") from e
    for m in msgs:
        if "End of file" in m or "truncated" in m.lower():
            raise BadFile(f"truncated: {m}")
    _check_pixels(path, ds)
    return ds


def _check_pixels(path: Path, ds: Dataset) -> None:
    if "DirectoryRecordSequence" in ds or ds.get("MediaStorageSOPClassUID", None) == "1.2.840.10008.1.3.10":
        raise SkipFile("DICOMDIR: a media directory, not an image; ingest the files it lists")
    raw = next((ds._dict[t] for t in _PIXEL_TAGS if t in ds._dict), None)
    if raw is None:
        sop = getattr(ds.get("SOPClassUID", None), "name", None) or ds.get("Modality", "unknown")
        raise SkipFile(f"no pixel data: {sop} object")
    tell = getattr(raw, "value_tell", None)
    length = getattr(raw, "length", None) or getattr(raw, "VL", None)
    if tell is not None and length not in (None, _UNDEFINED):
        size = path.stat().st_size
        if tell + length > size:
            raise BadFile(f"truncated: pixel data needs {length} bytes from offset {tell}, file has {size}")


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _spacing(get: Getter) -> list[float] | None:
    ps = get("PixelSpacing") or get("ImagerPixelSpacing")
    if not ps:
        return None
    try:
        out = [float(v) for v in ps]
        thick = get("SliceThickness")
        if thick not in (None, ""):
            out.append(float(thick))
        return out
    except (TypeError, ValueError):
        return None


def dataset_getter(ds: Dataset) -> Getter:
    """Values of ``ds`` by keyword (None when absent), each converted by pydicom once, on first use."""
    cache: dict[str, Any] = {}

    def get(key: str) -> Any:
        if key not in cache:
            cache[key] = ds.get(key, None)
        return cache[key]

    return get


def record_from_dataset(path: Path, ds: Dataset, content_hash: str) -> ImageRecord:
    """Map DICOM attributes onto the timeline's fields, deriving deterministic ids where absent."""
    return record_from_values(path, dataset_getter(ds), content_hash)


def record_from_values(path: Path, get: Getter, content_hash: str) -> ImageRecord:
    """``record_from_dataset`` over any keyword -> value lookup that answers like ``Dataset.get``."""
    def s(key: str) -> str | None:
        return _text(get(key))

    patient_key = s("PatientID") or f"anonymous:{s('StudyInstanceUID') or path.parent}"
    study_date = parse_da(get("StudyDate") or get("SeriesDate") or get("AcquisitionDate"))
    study_uid = s("StudyInstanceUID") or derived_uid(
        "study", patient_key, study_date, s("AccessionNumber"), s("StudyID"), path.parent
    )
    series_uid = s("SeriesInstanceUID") or derived_uid("series", study_uid, s("SeriesNumber"), s("Modality"))
    desc = s("SeriesDescription")
    return ImageRecord(
        path=str(path), content_hash=content_hash, file_format="dicom", patient_key=patient_key,
        study_uid=study_uid, series_uid=series_uid, patient_name=s("PatientName"),
        birth_date=parse_da(get("PatientBirthDate")), sex=s("PatientSex"),
        study_date=study_date, study_time=s("StudyTime"), modality=s("Modality"),
        study_description=s("StudyDescription"), accession=s("AccessionNumber"),
        body_part=s("BodyPartExamined"), series_description=desc,
        sequence=guess_sequence(desc, s("ProtocolName")) if s("Modality") == "MR" else None,
        view=s("ViewPosition"), laterality=norm_laterality(s("ImageLaterality") or s("Laterality")),
        series_number=_int(get("SeriesNumber")), sop_uid=s("SOPInstanceUID"),
        rows=_int(get("Rows")), cols=_int(get("Columns")), n_slices=_int(get("NumberOfFrames")),
        spacing=_spacing(get), instance_number=_int(get("InstanceNumber")),
    )


def read_dicom(path: Path, content_hash: str) -> ImageRecord:
    """Headers of one DICOM file as an ``ImageRecord`` (SkipFile/BadFile with a reason)."""
    ds = load_dataset(path)
    try:
        return record_from_dataset(path, ds, content_hash)
    except (ValueError, TypeError, KeyError, OSError, EOFError) as e:
        raise BadFile(f"malformed header: {type(e).__name__}: {e}") from e


def read_dicom_file(path: Path) -> ImageRecord:
    """Hash and headers of one DICOM file from a single read; pydicom decides whenever the file is unusual."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(size if size <= _WHOLE else _HEAD)
        h.update(head)
        while chunk := f.read(_HEAD):
            h.update(chunk)
    digest = h.hexdigest()
    values = fast_values(head, size)
    if values is None:
        return read_dicom(path, digest)
    return record_from_values(path, values.get, digest)
