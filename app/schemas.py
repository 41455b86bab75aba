"""The HTTP API's request and response models."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mimir.app.ids import Identifier, ThreadId
from mimir.domain import Laterality

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
    patient_id: Identifier | None = Field(default=None, description="Checked: the images must be this patient's")
    thread_id: ThreadId | None = Field(default=None, description="Continue this thread (of the same patient)")


class CaseImageRef(BaseModel):
    """A timeline image of a case, by id, with optional metadata that overrides the timeline's."""

    model_config = ConfigDict(extra="forbid")

    image_id: DbId
    study_date: date | None = None
    study_time: str | None = Field(default=None, max_length=32)
    modality: str | None = Field(default=None, max_length=16)
    series_description: str | None = Field(default=None, max_length=256)
    view: str | None = Field(default=None, max_length=16)
    laterality: Laterality | None = None
    body_part: str | None = Field(default=None, max_length=64)


class CaseRef(BaseModel):
    """A case over HTTP: timeline images by id (never file paths), of one patient."""

    model_config = ConfigDict(extra="forbid")

    images: list[CaseImageRef] = Field(min_length=1, max_length=16)
    patient_id: Identifier | None = Field(default=None, description="Checked: the images must be this patient's")
    question: str | None = Field(default=None, max_length=4000, description="Ignored: the request's question is asked")


class AskByCase(BaseModel):
    """A question about a full case whose images name timeline images by ``image_id`` (paths are refused)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000)
    case: CaseRef
    thread_id: ThreadId | None = Field(default=None, description="Continue this thread (of the same patient)")


class AskByPatient(BaseModel):
    """A question about a patient's timeline: the planner picks the studies and images it refers to."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000)
    patient_id: Identifier = Field(description="The patient whose timeline the question is about")
    thread_id: ThreadId | None = Field(default=None, description="Continue this thread (of the same patient)")


AskRequest = AskByImages | AskByCase | AskByPatient


class ResumeRequest(BaseModel):
    """The reviewer's choice for an interrupted thread: the candidate's image indices."""

    choice: list[Annotated[int, Field(ge=0, le=64)]] = Field(min_length=1, max_length=16)


class IngestResult(BaseModel):
    """Counts and per-file outcomes of an upload."""

    counts: dict[str, int]
    items: list[dict[str, object]]
