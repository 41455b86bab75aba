"""The patient timeline: SQLAlchemy 2.0 typed models.

Patients own studies, studies own series and reports, series own images. Tools record their runs
(``ToolRun``, keyed by a content-derived ``cache_key``) and what they found (``Finding``). Reviews
made in the app are ``ReviewThread``s (bound to one patient) with their streamed ``ReviewEvent``s.

One patient per object, enforced by the database: a finding's patient is its study's patient (a
composite foreign key on ``(study_id, patient_id)``); the images of a finding and of a review thread
belong to that finding's or thread's patient (triggers created by migration 0003).
Indexes are chosen for the lookups the agent makes per question: a patient's studies in date order
and the priors of a study (same patient, modality and body part, earlier date).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of every timeline table."""


finding_images = Table(
    "finding_images",
    Base.metadata,
    Column("finding_id", ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True),
    Column("image_id", ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
)


class Patient(Base):
    """A person, keyed by the external patient id (DICOM PatientID, manifest ``patient``)."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(String(256))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(16))

    studies: Mapped[list[Study]] = relationship(back_populates="patient", cascade="all, delete-orphan")


class Study(Base):
    """One imaging visit (DICOM study)."""

    __tablename__ = "studies"
    __table_args__ = (
        Index("ix_studies_prior", "patient_id", "modality", "body_part", "study_date"),
        Index("ix_studies_patient_date", "patient_id", "study_date"),
        Index("ix_studies_date", "study_date"),
        # The target of findings' composite foreign key (a unique index, so SQLite needs no rebuild).
        Index("uq_studies_id_patient", "id", "patient_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    study_uid: Mapped[str] = mapped_column(String(128), unique=True)
    study_date: Mapped[date | None] = mapped_column(Date)
    study_time: Mapped[str | None] = mapped_column(String(32))
    modality: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(String(256))
    accession: Mapped[str | None] = mapped_column(String(64))
    body_part: Mapped[str | None] = mapped_column(String(64))

    patient: Mapped[Patient] = relationship(back_populates="studies")
    series: Mapped[list[Series]] = relationship(back_populates="study", cascade="all, delete-orphan")
    reports: Mapped[list[Report]] = relationship(back_populates="study", cascade="all, delete-orphan")


class Series(Base):
    """A series of a study: one acquisition (sequence, view, side)."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    series_uid: Mapped[str] = mapped_column(String(128), unique=True)
    modality: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(String(256))
    sequence: Mapped[str | None] = mapped_column(String(16), doc="T1, T1C, T2, FLAIR or None")
    view: Mapped[str | None] = mapped_column(String(16), doc="CC, MLO, PA, AP, LAT, ...")
    laterality: Mapped[str | None] = mapped_column(String(1), doc="'L', 'R', 'B' or None")
    body_part: Mapped[str | None] = mapped_column(String(64))
    series_number: Mapped[int | None] = mapped_column(Integer)

    study: Mapped[Study] = relationship(back_populates="series")
    images: Mapped[list[Image]] = relationship(back_populates="series", cascade="all, delete-orphan")


class Image(Base):
    """One image file (a DICOM instance, a NIfTI volume, a PNG/JPEG), identified by content hash."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    sop_uid: Mapped[str | None] = mapped_column(String(128), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    storage_path: Mapped[str] = mapped_column(Text)
    file_format: Mapped[str] = mapped_column(String(8), doc="dicom, nifti, png or jpeg")
    frame: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int | None] = mapped_column(Integer)
    cols: Mapped[int | None] = mapped_column(Integer)
    n_slices: Mapped[int | None] = mapped_column(Integer)
    spacing: Mapped[list[float] | None] = mapped_column(JSON)
    instance_number: Mapped[int | None] = mapped_column(Integer)

    series: Mapped[Series] = relationship(back_populates="images")


class Report(Base):
    """A free-text report attached to a study."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)

    study: Mapped[Study] = relationship(back_populates="reports")


class ToolRun(Base):
    """One recorded tool call; ``cache_key`` = tool, version, arguments and input content hashes."""

    __tablename__ = "tool_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    tool: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    cache_key: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    input_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output: Mapped[Any] = mapped_column(JSON, nullable=True)
    artifacts: Mapped[list[str]] = mapped_column(JSON, default=list)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="ok")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"), index=True)


class Finding(Base):
    """A labelled observation, optionally measured, tied to images and the tool run that made it."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_patient_label", "patient_id", "label"),
        ForeignKeyConstraint(["study_id", "patient_id"], ["studies.id", "studies.patient_id"],
                             name="fk_findings_study_patient", ondelete="CASCADE", onupdate="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    tool_run_id: Mapped[int | None] = mapped_column(ForeignKey("tool_runs.id", ondelete="SET NULL"), index=True)
    label: Mapped[str] = mapped_column(String(128))
    location: Mapped[str | None] = mapped_column(String(128))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    images: Mapped[list[Image]] = relationship(secondary=finding_images)
    study: Mapped[Study | None] = relationship(foreign_keys="Finding.study_id")
    tool_run: Mapped[ToolRun | None] = relationship()


class RemoteInstance(Base):
    """Where an image came from: one instance of a DICOMweb server (a PACS).

    Keyed by the server and the SOP Instance UID, so an instance is never fetched twice and a refresh
    knows which images a server delivered. ``source`` is the server's base URL without credentials.
    """

    __tablename__ = "remote_instances"
    __table_args__ = (UniqueConstraint("source", "sop_uid", name="uq_remote_instances_source_sop"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(512))
    study_uid: Mapped[str] = mapped_column(String(128))
    series_uid: Mapped[str] = mapped_column(String(128))
    sop_uid: Mapped[str] = mapped_column(String(128))
    retrieved_at: Mapped[datetime] = mapped_column(DateTime)

    image: Mapped[Image] = relationship()


review_thread_images = Table(
    "review_thread_images",
    Base.metadata,
    Column("thread_id", ForeignKey("review_threads.id", ondelete="CASCADE"), primary_key=True),
    Column("image_id", ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
)


class ReviewThread(Base):
    """A review in the app: its questions about one patient's images, and the events they streamed.

    ``thread_key`` is the public thread id (also the LangGraph thread); ``patient_id`` is None only
    for a thread about images the timeline does not know.
    """

    __tablename__ = "review_threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_key: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    case: Mapped[dict[str, Any]] = mapped_column(JSON)
    started: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    images: Mapped[list[Image]] = relationship(secondary=review_thread_images)
    events: Mapped[list[ReviewEvent]] = relationship(back_populates="thread", cascade="all, delete-orphan",
                                                     order_by="ReviewEvent.id")


class ReviewEvent(Base):
    """One event a review thread streamed (a tool step, an interrupt, the answer), in order."""

    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("review_threads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    thread: Mapped[ReviewThread] = relationship(back_populates="events")
