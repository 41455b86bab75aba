"""The header facts a reader extracts from one file, before anything touches the database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from mimir import vocabulary as voc


class SkipFile(Exception):
    """The file is not something the timeline stores (a DICOMDIR, no manifest entry...)."""


class BadFile(Exception):
    """The file claims a supported format but cannot be read (truncated, malformed)."""


def derived_uid(*parts: object) -> str:
    """A deterministic DICOM-style UID (2.25 root) from the given parts."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()[:16]
    return f"2.25.{int.from_bytes(digest, 'big')}"


@dataclass
class ImageRecord:
    """Everything needed to place one file in the timeline."""

    path: str
    content_hash: str
    file_format: str
    patient_key: str
    study_uid: str
    series_uid: str
    patient_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    study_date: date | None = None
    study_time: str | None = None
    modality: str | None = None
    study_description: str | None = None
    accession: str | None = None
    body_part: str | None = None
    series_description: str | None = None
    sequence: str | None = None
    view: str | None = None
    laterality: str | None = None
    series_number: int | None = None
    sop_uid: str | None = None
    rows: int | None = None
    cols: int | None = None
    n_slices: int | None = None
    frame: int | None = None
    spacing: list[float] | None = None
    instance_number: int | None = None
    report: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def guess_sequence(*texts: str | None) -> str | None:
    """MR sequence (T1, T1C, T2, FLAIR, DWI, ADC, SWI) named in a series description or protocol, if any."""
    return voc.sequence_of(" ".join(t for t in texts if t))


def norm_laterality(value: str | None) -> str | None:
    """'L', 'R', 'B' from DICOM or free-text laterality values (L, LEFT, OS, R, OD, B, OU ...)."""
    return voc.code_of("laterality", value)
