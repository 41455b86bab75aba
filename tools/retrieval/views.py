"""Result models of the retrieval tools and the timeline reads that fill them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from mimir.memory.models import Finding, Image, Series, Study


class FindingValue(BaseModel):
    """A finding recorded for a study."""

    finding_id: int
    label: str
    location: str | None = None
    value: float | None = None
    unit: str | None = None


class StudyRef(BaseModel):
    """A study as a retrieval result cites it."""

    study_id: int
    study_uid: str
    study_date: date | None
    modality: str | None
    body_part: str | None
    description: str | None
    image_ids: list[int] = Field(default_factory=list)
    findings: list[FindingValue] = Field(default_factory=list)


class TrajectoryStep(BaseModel):
    """A finding's value at one study date."""

    study_id: int
    study_date: date | None
    value: float | None
    unit: str | None


class LabelCourse(BaseModel):
    """How one finding label moved across the studies shown (earliest first)."""

    label: str
    steps: list[TrajectoryStep]
    delta: float | None = Field(default=None, description="Last value minus first value, when both exist")
    unit: str | None = None


def study_refs(session: Session, study_ids: list[int]) -> dict[int, StudyRef]:
    """Study id -> StudyRef with its image ids and findings."""
    if not study_ids:
        return {}
    studies = session.scalars(select(Study).where(Study.id.in_(study_ids))).all()
    images: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(Series.study_id, Image.id).join(Image, Image.series_id == Series.id)
        .where(Series.study_id.in_(study_ids)).order_by(Image.id)
    )
    for study_id, image_id in rows:
        images[study_id].append(image_id)
    findings: dict[int, list[FindingValue]] = defaultdict(list)
    for f in session.scalars(select(Finding).where(Finding.study_id.in_(study_ids)).order_by(Finding.id)):
        findings[f.study_id or 0].append(
            FindingValue(finding_id=f.id, label=f.label, location=f.location, value=f.value, unit=f.unit))
    return {
        s.id: StudyRef(study_id=s.id, study_uid=s.study_uid, study_date=s.study_date, modality=s.modality,
                       body_part=s.body_part, description=s.description, image_ids=images[s.id],
                       findings=findings[s.id])
        for s in studies
    }


def changes(refs: list[StudyRef]) -> list[LabelCourse]:
    """Per finding label with a value, its values across ``refs`` in date order."""
    by_label: dict[str, list[TrajectoryStep]] = defaultdict(list)
    for ref in sorted(refs, key=lambda r: (r.study_date is None, r.study_date or date.min, r.study_id)):
        for f in ref.findings:
            if f.value is not None:
                by_label[f.label].append(TrajectoryStep(study_id=ref.study_id, study_date=ref.study_date,
                                                        value=f.value, unit=f.unit))
    out = []
    for label, steps in sorted(by_label.items()):
        first, last = steps[0], steps[-1]
        delta = last.value - first.value if len(steps) > 1 and first.value is not None and last.value is not None else None
        out.append(LabelCourse(label=label, steps=steps, delta=delta, unit=last.unit))
    return out


def later_studies(session: Session, patient_id: int, after: date | None, limit: int) -> list[int]:
    """Ids of a patient's studies dated after ``after``, earliest first."""
    if after is None:
        return []
    stmt = (select(Study.id).where(Study.patient_id == patient_id, Study.study_date > after)
            .order_by(Study.study_date, Study.id).limit(limit))
    return list(session.scalars(stmt))
