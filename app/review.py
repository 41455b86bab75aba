"""The case-review service: one code path for the HTTP API and the chat interface."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mimir.app import scope
from mimir.app.refusals import NotFound
from mimir.app.review_store import ReviewStore
from mimir.app.schemas import AskRequest, ImageEntry, PatientSummary, StudyEntry, Timeline
from mimir.domain import Case, Event
from mimir.memory.db import Database, open_database
from mimir.memory.models import Patient, Series, Study
from mimir.settings import Settings

if TYPE_CHECKING:
    from mimir.agent.entry import Agent

log = logging.getLogger(__name__)

__all__ = ["NotFound", "ReviewService", "findings_series"]

#: A stored file no image references is removed at start-up once it is this old (s).
ORPHAN_GRACE_S = 3600.0


class ReviewService:
    """Patients, timelines, ingestion and questions, shared by the API and the chat UI.

    Every file the service writes lies under the data directory, in folders it names: ``staging``
    (uploads being checked), ``storage`` (ingested images), ``public`` (what the review screen may
    serve: its rendered pictures and exports). Reviews live in the timeline database.
    """

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
        self.settings = settings.ensure_dirs()
        self.db = db or open_database(settings)
        self.reviews = ReviewStore(self.db)
        self._agent: Agent | None = None
        self._agent_lock = threading.Lock()
        self.public_dir = settings.data_dir / "public"
        self.staging_dir = settings.data_dir / "staging"
        for d in (self.public_dir, self.staging_dir):
            d.mkdir(mode=0o700, exist_ok=True)
        self.recover()

    def recover(self) -> None:
        """Remove what a killed server left: staged uploads, and stored files no image references.

        Assumes one server per data directory; a stored file is kept for an hour, in case an ingest
        in another process has moved it but not yet committed.
        """
        from mimir.memory.ingest.record_writer import sweep_storage

        for leftover in self.staging_dir.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        with self.db.session() as s:
            removed = sweep_storage(s, self.settings.storage_dir, older_than_s=ORPHAN_GRACE_S)
        if removed:
            log.info("removed %d stored files no image references", len(removed))

    @property
    def agent(self):  # mimir.agent.entry.Agent, imported lazily
        """The planner, built on first use (loading tools lazily)."""
        with self._agent_lock:
            if self._agent is None:
                from mimir.agent.entry import Agent

                self._agent = Agent(self.settings)
            return self._agent

    def patients(self, query: str = "", limit: int = 200) -> list[PatientSummary]:
        """Patients whose key or name contains ``query``, most recently seen first."""
        with self.db.session() as s:
            stmt = (
                select(Patient.patient_key, Patient.name, func.count(Study.id), func.max(Study.study_date))
                .join(Study, Study.patient_id == Patient.id, isouter=True)
                .group_by(Patient.id)
                .order_by(Patient.patient_key)
                .limit(limit)
            )
            if query:
                like = f"%{query.lower()}%"
                stmt = stmt.where(func.lower(Patient.patient_key).like(like) | func.lower(func.coalesce(Patient.name, "")).like(like))
            return [PatientSummary(patient_key=k, name=n, n_studies=c, last_study=d) for k, n, c, d in s.execute(stmt)]

    def timeline(self, patient_key: str) -> Timeline:
        """The patient's studies in date order with their images."""
        with self.db.session() as s:
            # Studies, series and images in three queries (not one per study and per series).
            patient = s.scalar(select(Patient).where(Patient.patient_key == patient_key).options(
                selectinload(Patient.studies).selectinload(Study.series).selectinload(Series.images)))
            if patient is None:
                raise NotFound(f"Unknown patient '{patient_key}'")
            studies = sorted(patient.studies, key=lambda st: (st.study_date is None, st.study_date, st.id))
            return Timeline(patient_key=patient_key, studies=[_study_entry(st) for st in studies])

    def image_path(self, image_id: int) -> Path:
        """The stored file of a timeline image (NotFound, or Unreadable when the file is gone)."""
        with self.db.session() as s:
            return scope.stored_file(s, image_id)

    def overlay_mask(self, tool_run_id: int, image_id: int) -> Path:
        """The mask of a segmentation run made on this image (refused for any other image)."""
        with self.db.session() as s:
            return scope.overlay_mask(s, self.settings, tool_run_id, image_id)

    def volume(self, image_id: int) -> tuple[bytes, int]:
        """The image's series as NIfTI bytes, and the slice the image itself is."""
        from mimir.app.volumes import stack_of, volume_bytes

        with self.db.session() as s:
            stack = stack_of(s, image_id)
        return volume_bytes(stack), stack.index

    def mask_volume(self, tool_run_id: int, image_id: int) -> bytes:
        """A segmentation run's mask on the grid of ``volume(image_id)`` (refused for any other image)."""
        from mimir.app.volumes import mask_bytes, stack_of

        mask = self.overlay_mask(tool_run_id, image_id)
        with self.db.session() as s:
            stack = stack_of(s, image_id)
        return mask_bytes(stack, mask)

    def case_for(self, req: AskRequest) -> Case:
        """The checked case of a request: timeline images of one patient, in the order given."""
        with self.db.session() as s:
            return scope.case_for(s, self.settings, req)

    def ask(self, req: AskRequest) -> tuple[str, Iterator[Event]]:
        """Start (or continue) a thread; returns its id and the event stream. Checks come first."""
        case = self.case_for(req)
        thread_id = self.reviews.open(req.thread_id, case)
        self.reviews.append(thread_id, Event(kind="question", data={"question": case.question,
                                                                    "images": _image_refs(case)}))
        return thread_id, self._recorded(thread_id, self.agent.stream(case, thread_id=thread_id, batch=False))

    def resume(self, thread_id: str, choice: list[int]) -> Iterator[Event]:
        """Resume an interrupted thread with the reviewer's choice."""
        self.reviews.patient_of(thread_id)  # NotFound for an unknown thread
        self.reviews.append(thread_id, Event(kind="question", data={"choice": choice}))
        return self._recorded(thread_id, self.agent.resume(thread_id, choice))

    def review(self, thread_id: str) -> dict:
        """A saved review: its case and every event so far."""
        return self.reviews.get(thread_id)

    def _recorded(self, thread_id: str, events: Iterator[Event]) -> Iterator[Event]:
        """Record each event in the thread as it streams past; the turn's images precede its answer."""
        for ev in events:
            if ev.kind in ("answer", "interrupt"):
                images = self._turn_images(thread_id)
                if images:
                    chosen = Event(kind="case", data={"images": images})
                    self.reviews.append(thread_id, chosen)
                    yield chosen
            self.reviews.append(thread_id, ev)
            yield ev

    def _turn_images(self, thread_id: str) -> list[dict]:
        """The images the planner used in this turn (for a patient question: the studies it chose)."""
        case = self.agent.state(thread_id).get("case")
        return _image_refs(case) if case is not None else []


def _image_refs(case: Case) -> list[dict]:
    """What a reviewer needs of each case image: its id, date, modality and series; never its path."""
    return [{"index": n, "image_id": im.image_id, "study_date": str(im.study_date or ""),
             "modality": im.modality, "series": im.series_description} for n, im in enumerate(case.images)]


def _study_entry(st: Study) -> StudyEntry:
    """One entry per series: its image, or the middle slice of a multi-image series."""
    images = []
    for se in sorted(st.series, key=_series_order):
        if not se.images:
            continue
        ordered = sorted(se.images, key=lambda im: (im.instance_number or 0, im.id))
        img = ordered[len(ordered) // 2]
        images.append(ImageEntry(
            image_id=img.id, series_description=se.description, sequence=se.sequence, view=se.view,
            laterality=se.laterality, file_format=img.file_format, series_size=len(ordered),
            thumbnail_url=f"/api/images/{img.id}/thumbnail",
        ))
    return StudyEntry(study_id=st.id, study_date=st.study_date, modality=st.modality,
                      description=st.description, body_part=st.body_part, images=images)


def _series_order(se: Series) -> tuple[int, int]:
    return (se.series_number if se.series_number is not None else 10**6, se.id)


#: One measured quantity over time: its unit and (date, value) points.
Trajectory = tuple[str, list[tuple[str, float]]]


def findings_series(db: Database, patient_key: str) -> dict[str, Trajectory]:
    """Each measured finding label of a patient over time: {label: (unit, [(date, value)])}."""
    from mimir.memory.models import Finding

    with db.session() as s:
        patient = s.scalar(select(Patient).where(Patient.patient_key == patient_key))
        if patient is None:
            raise NotFound(f"Unknown patient '{patient_key}'")
        rows = s.execute(
            select(Finding.label, Finding.value, Finding.unit, Study.study_date)
            .join(Study, Finding.study_id == Study.id)
            .where(Finding.patient_id == patient.id, Finding.value.is_not(None))
            .order_by(Study.study_date, Finding.id)
        ).all()
    points: dict[str, dict[str, float]] = {}
    units: dict[str, str] = {}
    for label, value, unit, day in rows:
        # the latest run per date wins; the query keeps only findings with a value
        points.setdefault(label, {})[str(day)] = float(cast(float, value))
        units[label] = unit or ""
    return {label: (units[label], sorted(p.items())) for label, p in points.items()}
