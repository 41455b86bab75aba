"""A patient's timeline as plain data (for the CLI, the app and the planner's context)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from mimir.memory.models import Study
from mimir.memory.queries import patient_by_key, patient_studies


class SeriesView(BaseModel):
    """One series in a timeline listing."""

    series_uid: str
    modality: str | None
    description: str | None
    sequence: str | None
    view: str | None
    laterality: str | None
    image_ids: list[int]


class StudyView(BaseModel):
    """One study in a timeline listing."""

    study_id: int
    study_uid: str
    study_date: date | None
    modality: str | None
    body_part: str | None
    description: str | None
    series: list[SeriesView] = Field(default_factory=list)


class TimelineView(BaseModel):
    """A patient's studies, earliest first."""

    patient: str
    name: str | None
    studies: list[StudyView]


def _study_view(st: Study) -> StudyView:
    return StudyView(
        study_id=st.id, study_uid=st.study_uid, study_date=st.study_date, modality=st.modality,
        body_part=st.body_part, description=st.description,
        series=[SeriesView(series_uid=se.series_uid, modality=se.modality, description=se.description,
                           sequence=se.sequence, view=se.view, laterality=se.laterality,
                           image_ids=[i.id for i in se.images]) for se in st.series],
    )


def patient_timeline(session: Session, patient_key: str) -> TimelineView | None:
    """The patient's timeline, or None when the patient is unknown."""
    p = patient_by_key(session, patient_key)
    if p is None:
        return None
    return TimelineView(patient=p.patient_key, name=p.name,
                        studies=[_study_view(st) for st in patient_studies(session, p.id)])
