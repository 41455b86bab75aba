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


#: What the agent learnt about case images, keyed by (path, size, mtime). A ``CaseImage``: the timeline
#: knows the image (it stays known, so repeated questions skip re-hashing its file). An ``int``: the
#: image was not in the timeline when the timeline's newest image id was that number; it is looked
#: up again only once an image has been added since, so anonymous files (a Med-MIM batch, uploads)
#: are hashed and queried once per agent rather than once per question.
KnownImages = dict[tuple[str, int, int], CaseImage | int]


def register(session: Session, case: Case, settings: Settings, known: KnownImages) -> Case:
    """``memory.registration.register_case`` for the images this agent has not settled yet."""
    from mimir.memory.registration import register_case

    keys = [_key(img.path) for img in case.images]
    newest: list[int] = []  # the timeline's newest image id, read at most once, before any look-up

    def newest_id() -> int:
        if not newest:
            from sqlalchemy import func, select

            from mimir.memory.models import Image

            newest.append(int(session.scalar(select(func.max(Image.id))) or 0))
        return newest[0]

    def settled(k: tuple[str, int, int] | None) -> bool:
        value = known.get(k) if k is not None else None
        return isinstance(value, CaseImage) or (isinstance(value, int) and value == newest_id())

    done = [settled(k) for k in keys]
    todo = [img for img, ok in zip(case.images, done, strict=True) if not ok]
    if todo:
        newest_id()
    found = iter(register_case(session, case.model_copy(update={"images": todo}), settings).images if todo else [])
    images: list[CaseImage] = []
    for img, k, ok in zip(case.images, keys, done, strict=True):
        value = known.get(k) if k is not None else None
        if ok and isinstance(value, CaseImage):
            images.append(value.model_copy(update={f: getattr(img, f) for f in img.model_fields_set if f != "path"}))
            continue
        if ok:  # not in the timeline, and nothing was added since it was looked up
            images.append(img.model_copy())
            continue
        new = next(found)
        if k is not None:
            known[k] = new if new.image_id is not None else newest_id()
        images.append(new)
    return case.model_copy(update={"images": images})


def _key(path: str) -> tuple[str, int, int] | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return path, st.st_size, st.st_mtime_ns
