"""The HTTP API's request and response models."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mimir.domain import Case

#: A database id: positive and exactly representable in JSON (2**53 - 1).
DbId = Annotated[int, Field(ge=1, le=2**53 - 1)]


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
    series_size: int = Field(default=1, description="Images in the series; >1 means this is its middle slice")


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


class AskByImages(BaseModel):
    """A question about timeline images, in the order given."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000)
    image_ids: list[DbId] = Field(min_length=1, max_length=16)
    patient_id: str | None = Field(default=None, max_length=128)
    thread_id: str | None = Field(default=None, max_length=128)


class AskByCase(BaseModel):
    """A question about a full case (images must be timeline images or files under the data dir)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000)
    case: Case
    thread_id: str | None = Field(default=None, max_length=128)


AskRequest = AskByImages | AskByCase


class ResumeRequest(BaseModel):
    """The reviewer's choice for an interrupted thread: the candidate's image indices."""

    choice: list[Annotated[int, Field(ge=0, le=64)]] = Field(min_length=1, max_length=16)


class IngestResult(BaseModel):
    """Counts and per-file outcomes of an upload."""

    counts: dict[str, int]
    items: list[dict[str, object]]
