"""Deterministic prefetch of a patient's timeline before any planning (studies and finding trajectories)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mimir.agent.state import TimelineSummary

from mimir.domain import Case

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: At most this many studies and trajectory points are kept (the summary lives in the checkpoint).
MAX_ITEMS = 20


def prefetch(session: Session | None, case: Case) -> TimelineSummary:
    """The patient's studies (earliest first) and finding trajectories; empty without a timeline."""
    known = sum(1 for i in case.images if i.image_id is not None)
    if session is None or case.patient_id is None:
        return TimelineSummary(patient_id=case.patient_id, known_images=known)
    from mimir.memory import queries
    from mimir.memory.models import Finding

    patient = queries.patient_by_key(session, case.patient_id)
    if patient is None:
        return TimelineSummary(patient_id=case.patient_id, known_images=known)
    studies = [{"date": s.study_date.isoformat() if s.study_date else None, "modality": s.modality,
                "description": s.description, "study_id": s.id}
               for s in queries.patient_studies(session, patient.id)][-MAX_ITEMS:]
    from sqlalchemy import select

    found = session.scalars(select(Finding.label).where(Finding.patient_id == patient.id).distinct())
    labels = sorted(found)[:MAX_ITEMS]
    trajectories = {
        label: [p.model_dump(mode="json") for p in queries.finding_trajectory(session, patient.id, label)][-MAX_ITEMS:]
        for label in labels
    }
    return TimelineSummary(patient_id=case.patient_id, known_images=known, studies=studies, trajectories=trajectories)
