"""The HTTP API's request and response models."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from mimir.domain import Case


class PatientSummary(BaseModel):
    """A patient in the list."""

    patient_key: str
    name: str | None = None
    n_studies: int
    last_study: date | None = None


class ImageEntry(BaseModel):
    """One image of a study, as the timeline knows it."""

    image_id: int
    series_description: str | None = None
    sequence: str | None = None
    view: str | None = None
    laterality: str | None = None
    file_format: str
    thumbnail_url: str


class StudyEntry(BaseModel):
    """One study on a patient's timeline."""

    study_id: int
    study_date: date | None
    modality: str | None
    description: str | None
    body_part: str | None
    images: list[ImageEntry]


class Timeline(BaseModel):
    """A patient's studies, oldest first."""

    patient_key: str
    studies: list[StudyEntry]


class AskRequest(BaseModel):
    """A question about a case: images by timeline id (``image_ids``) or a full case."""

    question: str = Field(min_length=1, max_length=4000)
    patient_id: str | None = None
    image_ids: list[int] = Field(default_factory=list, max_length=16)
    case: Case | None = None
    thread_id: str | None = Field(default=None, max_length=128)


class ResumeRequest(BaseModel):
    """The reviewer's choice for an interrupted thread: the candidate's image indices."""

    choice: list[int] = Field(min_length=1, max_length=16)


class IngestResult(BaseModel):
    """Counts and per-file outcomes of an upload."""

    counts: dict[str, int]
    items: list[dict[str, object]]
