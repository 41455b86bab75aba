"""DICOM headers to ``ImageRecord``: pydicom, pixels deferred (never decoded at ingest)."""

from __future__ import annotations

import warnings
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pydicom
from mimir.memory.ingest.records import (
    BadFile,
    ImageRecord,
    SkipFile,
    derived_uid,
    guess_sequence,
    norm_laterality,
)
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag, Tag

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


def parse_da(value: Any) -> date | None:
    """A DICOM DA value (YYYYMMDD) as a date; None when empty or malformed."""
    text = str(value or "").strip()
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date()
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


def _str(ds: Dataset, key: str) -> str | None:
    value = ds.get(key, None)
    text = str(value).strip() if value is not None else ""
    return text or None


def _spacing(ds: Dataset) -> list[float] | None:
    ps = ds.get("PixelSpacing", None) or ds.get("ImagerPixelSpacing", None)
    if not ps:
        return None
    try:
        out = [float(v) for v in ps]
        thick = ds.get("SliceThickness", None)
        if thick not in (None, ""):
            out.append(float(thick))
        return out
    except (TypeError, ValueError):
        return None


def record_from_dataset(path: Path, ds: Dataset, content_hash: str) -> ImageRecord:
    """Map DICOM attributes onto the timeline's fields, deriving deterministic ids where absent."""
    patient_key = _str(ds, "PatientID") or f"anonymous:{_str(ds, 'StudyInstanceUID') or path.parent}"
    study_date = parse_da(ds.get("StudyDate", None) or ds.get("SeriesDate", None) or ds.get("AcquisitionDate", None))
    study_uid = _str(ds, "StudyInstanceUID") or derived_uid(
        "study", patient_key, study_date, _str(ds, "AccessionNumber"), _str(ds, "StudyID"), path.parent
    )
    series_uid = _str(ds, "SeriesInstanceUID") or derived_uid(
        "series", study_uid, _str(ds, "SeriesNumber"), _str(ds, "Modality")
    )
    desc = _str(ds, "SeriesDescription")
    frames = _int(ds.get("NumberOfFrames", None))
    return ImageRecord(
        path=str(path), content_hash=content_hash, file_format="dicom", patient_key=patient_key,
        study_uid=study_uid, series_uid=series_uid, patient_name=_str(ds, "PatientName"),
        birth_date=parse_da(ds.get("PatientBirthDate", None)), sex=_str(ds, "PatientSex"),
        study_date=study_date, study_time=_str(ds, "StudyTime"), modality=_str(ds, "Modality"),
        study_description=_str(ds, "StudyDescription"), accession=_str(ds, "AccessionNumber"),
        body_part=_str(ds, "BodyPartExamined"), series_description=desc,
        sequence=guess_sequence(desc, _str(ds, "ProtocolName")) if _str(ds, "Modality") == "MR" else None,
        view=_str(ds, "ViewPosition"),
        laterality=norm_laterality(_str(ds, "ImageLaterality") or _str(ds, "Laterality")),
        series_number=_int(ds.get("SeriesNumber", None)), sop_uid=_str(ds, "SOPInstanceUID"),
        rows=_int(ds.get("Rows", None)), cols=_int(ds.get("Columns", None)),
        n_slices=frames, spacing=_spacing(ds), instance_number=_int(ds.get("InstanceNumber", None)),
    )


def read_dicom(path: Path, content_hash: str) -> ImageRecord:
    """Headers of one DICOM file as an ``ImageRecord`` (SkipFile/BadFile with a reason)."""
    ds = load_dataset(path)
    try:
        return record_from_dataset(path, ds, content_hash)
    except (ValueError, TypeError, KeyError, OSError, EOFError) as e:
        raise BadFile(f"malformed header: {type(e).__name__}: {e}") from e
