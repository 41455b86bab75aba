"""Deterministic prefetch of a patient's timeline before any planning (studies and finding trajectories)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mimir.agent.state import TimelineSummary
from mimir.domain import Case, CaseImage

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mimir.settings import Settings

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


#: Images the timeline already knows, keyed by (path, size, mtime): a known image stays known, so
#: repeated questions skip re-hashing its file. Unknown images are looked up every time.
KnownImages = dict[tuple[str, int, int], CaseImage]


def register(session: Session, case: Case, settings: Settings, known: KnownImages) -> Case:
    """``memory.intake.register_case`` for the images not already known to this agent."""
    from mimir.memory.intake import register_case

    keys = [_key(img.path) for img in case.images]
    todo = [img for img, k in zip(case.images, keys, strict=True) if k is None or k not in known]
    found = iter(register_case(session, case.model_copy(update={"images": todo}), settings).images if todo else [])
    images: list[CaseImage] = []
    for img, k in zip(case.images, keys, strict=True):
        if k is not None and k in known:
            images.append(known[k].model_copy(update={f: getattr(img, f) for f in img.model_fields_set if f != "path"}))
            continue
        new = next(found)
        if k is not None and new.image_id is not None:
            known[k] = new
        images.append(new)
    return case.model_copy(update={"images": images})


def _key(path: str) -> tuple[str, int, int] | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return path, st.st_size, st.st_mtime_ns
