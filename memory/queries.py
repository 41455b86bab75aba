"""Timeline queries: a patient's studies, priors, baseline, date ranges and finding trajectories."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from mimir.memory.models import Finding, Patient, Study


class TrajectoryPoint(BaseModel):
    """One measurement of a finding label at a study date."""

    date: date | None
    value: float | None
    unit: str | None
    finding_id: int


def patient_by_key(session: Session, patient_key: str) -> Patient | None:
    """The patient with this external id, or None."""
    return session.scalar(select(Patient).where(Patient.patient_key == patient_key))


def _ordered(stmt: Select[Study]) -> Select[Study]:
    # Undated studies sort last; ties broken by time then id so the order is stable.
    return stmt.order_by(Study.study_date.is_(None), Study.study_date, Study.study_time, Study.id)


def patient_studies(session: Session, patient_id: int) -> list[Study]:
    """All studies of a patient, earliest first."""
    return list(session.scalars(_ordered(select(Study).where(Study.patient_id == patient_id))))


def _prior_stmt(study: Study) -> Select[Study]:
    if study.study_date is None:
        raise ValueError(f"Study {study.study_uid} has no date; priors need one")
    conds = [
        Study.patient_id == study.patient_id,
        Study.study_date < study.study_date,
        Study.modality.is_(None) if study.modality is None else Study.modality == study.modality,
        Study.body_part.is_(None) if study.body_part is None else Study.body_part == study.body_part,
    ]
    return select(Study).where(*conds)


def priors(session: Session, study: Study) -> list[Study]:
    """Earlier studies of the same patient, modality and body part, most recent first."""
    stmt = _prior_stmt(study).order_by(Study.study_date.desc(), Study.id.desc())
    return list(session.scalars(stmt))


def nearest_prior(session: Session, study: Study) -> Study | None:
    """The most recent prior of ``study`` (same patient, modality and body part), or None."""
    stmt = _prior_stmt(study).order_by(Study.study_date.desc(), Study.id.desc()).limit(1)
    return session.scalar(stmt)


def baseline(session: Session, patient_id: int, modality: str | None = None, body_part: str | None = None) -> Study | None:
    """The earliest dated study of a patient, optionally of one modality and body part."""
    stmt = select(Study).where(Study.patient_id == patient_id, Study.study_date.is_not(None))
    if modality is not None:
        stmt = stmt.where(Study.modality == modality)
    if body_part is not None:
        stmt = stmt.where(Study.body_part == body_part)
    return session.scalar(stmt.order_by(Study.study_date, Study.id).limit(1))


def studies_between(session: Session, start: date, end: date, patient_id: int | None = None) -> list[Study]:
    """Studies dated within [start, end] (inclusive), optionally for one patient, in date order."""
    if end < start:
        raise ValueError(f"Date range is reversed: {start} > {end}")
    stmt = select(Study).where(Study.study_date >= start, Study.study_date <= end)
    if patient_id is not None:
        stmt = stmt.where(Study.patient_id == patient_id)
    return list(session.scalars(_ordered(stmt)))


def finding_trajectory(session: Session, patient_id: int, label: str) -> list[TrajectoryPoint]:
    """Measurements of one finding label over time: (study date, value, unit, finding id), in order."""
    stmt = (
        select(Finding, Study.study_date)
        .outerjoin(Study, Finding.study_id == Study.id)
        .where(Finding.patient_id == patient_id, Finding.label == label)
        .order_by(Study.study_date.is_(None), Study.study_date, Finding.created_at, Finding.id)
    )
    return [
        TrajectoryPoint(date=d, value=f.value, unit=f.unit, finding_id=f.id) for f, d in session.execute(stmt)
    ]
