"""The case-review service: one code path for the HTTP API and the chat interface."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from mimir.app.schemas import AskByCase, AskRequest, ImageEntry, PatientSummary, StudyEntry, Timeline
from mimir.domain import Case, CaseImage, Event
from mimir.memory.db import Database, open_database
from mimir.memory.models import Image, Patient, Series, Study
from mimir.settings import Settings

log = logging.getLogger(__name__)


class NotFound(LookupError):
    """A patient, image or thread that does not exist."""


class ReviewService:
    """Patients, timelines, ingestion and questions, shared by the API and the chat UI."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings.ensure_dirs()
        self.db = db or open_database(settings)
        self._agent = None
        self._agent_lock = threading.Lock()
        self.reviews_dir = settings.data_dir / "reviews"
        self.reviews_dir.mkdir(parents=True, exist_ok=True)

    @property
    def agent(self):  # noqa: ANN201 - mimir.agent.service.Agent, imported lazily
        """The planner, built on first use (loading tools lazily)."""
        with self._agent_lock:
            if self._agent is None:
                from mimir.agent.service import Agent

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
            patient = s.scalar(select(Patient).where(Patient.patient_key == patient_key))
            if patient is None:
                raise NotFound(f"Unknown patient '{patient_key}'")
            studies = sorted(patient.studies, key=lambda st: (st.study_date is None, st.study_date, st.id))
            return Timeline(patient_key=patient_key, studies=[_study_entry(st) for st in studies])

    def image_path(self, image_id: int) -> Path:
        """The stored file of a timeline image."""
        with self.db.session() as s:
            img = s.get(Image, image_id)
            if img is None:
                raise NotFound(f"Unknown image id {image_id}")
            return Path(img.storage_path)

    def case_for(self, req: AskRequest) -> Case:
        """The case a request describes: an explicit case, or timeline image ids in the given order."""
        if isinstance(req, AskByCase):
            images = [self._checked_image(im) for im in req.case.images]
            return req.case.model_copy(update={"question": req.question, "images": images})
        from mimir.memory.intake import register_case

        images = [CaseImage(path=str(self.image_path(i)), image_id=i) for i in req.image_ids]
        case = Case(question=req.question, images=images, patient_id=req.patient_id)
        with self.db.session() as s:  # dates and series from the timeline, so answers can say "MR of <date>"
            return register_case(s, case, self.settings)

    def _checked_image(self, im: CaseImage) -> CaseImage:
        """API cases may name timeline images or files under the data directory, nothing else."""
        if im.image_id is not None:
            return im.model_copy(update={"path": str(self.image_path(im.image_id))})
        try:
            p = Path(im.path).resolve()
            usable = p.is_relative_to(self.settings.data_dir.resolve()) and p.is_file()
        except (ValueError, OSError):  # NUL bytes, over-long names
            usable = False
        if not usable:
            raise NotFound(f"image '{im.path}' is neither a timeline image nor a file under the data directory")
        return im.model_copy(update={"path": str(p)})

    def ask(self, req: AskRequest) -> tuple[str, Iterator[Event]]:
        """Start (or continue) a thread; returns its id and the event stream."""
        case = self.case_for(req)
        thread_id = req.thread_id or uuid.uuid4().hex
        if not (self.reviews_dir / f"{thread_id}.json").exists():
            self._save_review(thread_id, {"case": case.model_dump(mode="json"),
                                          "started": datetime.now().isoformat(timespec="seconds")})
        return thread_id, self._recorded(thread_id, self.agent.stream(case, thread_id=thread_id, batch=False))

    def resume(self, thread_id: str, choice: list[int]) -> Iterator[Event]:
        """Resume an interrupted thread with the reviewer's choice."""
        if not (self.reviews_dir / f"{thread_id}.json").exists():
            raise NotFound(f"Unknown thread '{thread_id}'")
        return self._recorded(thread_id, self.agent.resume(thread_id, choice))

    def review(self, thread_id: str) -> dict:
        """A saved review: its case and every event so far."""
        path = self.reviews_dir / f"{thread_id}.json"
        if not path.exists():
            raise NotFound(f"Unknown thread '{thread_id}'")
        review = json.loads(path.read_text())
        log_path = path.with_suffix(".events.jsonl")
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        review["events"] = [json.loads(line) for line in lines if line.strip()]
        return review

    def _recorded(self, thread_id: str, events: Iterator[Event]) -> Iterator[Event]:
        """Append each event to the thread's log (one JSON line) as it streams past."""
        with (self.reviews_dir / f"{thread_id}.events.jsonl").open("a") as log_file:
            for ev in events:
                log_file.write(ev.model_dump_json() + "\n")
                log_file.flush()
                yield ev

    def _save_review(self, thread_id: str, data: dict) -> None:
        path = self.reviews_dir / f"{thread_id}.json"
        path.write_text(json.dumps({"thread_id": thread_id, **data}, default=str))


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
        points.setdefault(label, {})[str(day)] = float(value)  # the latest run per date wins
        units[label] = unit or ""
    return {label: (units[label], sorted(p.items())) for label, p in points.items()}


def tool_run_mask(db: Database, settings: Settings, tool_run_id: int) -> Path:
    """The mask artifact of a segmentation tool run (only files under the data directory)."""
    from mimir.memory.models import ToolRun

    with db.session() as s:
        run = s.get(ToolRun, tool_run_id)
        if run is None:
            raise NotFound(f"Unknown tool run {tool_run_id}")
        masks = [Path(a) for a in run.artifacts or [] if str(a).endswith((".nii.gz", ".nii"))]
    root = settings.data_dir.resolve()
    for m in masks:
        if m.resolve().is_relative_to(root) and m.exists():
            return m
    raise NotFound(f"Tool run {tool_run_id} has no mask under the data directory")
