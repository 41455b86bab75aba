"""Models and migrations on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from mimir.memory.db import Database, open_database
from mimir.memory.models import Base, Finding, Image, Patient, Series, Study, ToolRun

pytest_plugins = ["fixtures.memory_postgres"]  # the db fixture: SQLite and a throw-away PostgreSQL server


def test_migration_matches_models(db: Database) -> None:
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    names = {ix["name"] for ix in inspect(db.engine).get_indexes("studies")}
    assert "ix_studies_prior" in names


def test_unique_content_hash_and_cascade(db: Database) -> None:
    with db.session() as s:
        p = Patient(patient_key="P1")
        st = Study(patient=p, study_uid="1.2", study_date=date(2024, 1, 2), modality="MR")
        se = Series(study=st, series_uid="1.2.1", sequence="FLAIR")
        se.images.append(Image(content_hash="a" * 64, storage_path="/x", file_format="png"))
        s.add(p)
    with pytest.raises(IntegrityError), db.session() as s:
        se = s.scalar(select(Series))
        s.add(Image(series_id=se.id, content_hash="a" * 64, storage_path="/y", file_format="png"))
    with db.session() as s:
        img = s.scalar(select(Image))
        run = ToolRun(tool="measure", version="1", cache_key="k1", input_hashes=[img.content_hash],
                      arguments={"a": 1}, output={"v": 2.5}, artifacts=[], duration_s=0.1, status="ok",
                      patient_id=img.series.study.patient_id)
        f = Finding(patient_id=run.patient_id, study_id=img.series.study_id, tool_run=run, label="tumour volume",
                    value=12.5, unit="ml", images=[img])
        s.add(f)
    with db.session() as s:
        f = s.scalar(select(Finding))
        assert f.images[0].content_hash == "a" * 64 and f.tool_run.output == {"v": 2.5}
        assert f.created_at is not None
        s.delete(s.scalar(select(Patient)))
    with db.session() as s:
        assert s.scalars(select(Image)).all() == [] and s.scalars(select(Finding)).all() == []


def test_session_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(Patient(patient_key="gone"))
        s.flush()
        raise RuntimeError("boom")
    with db.session() as s:
        assert s.scalar(select(Patient)) is None


def test_open_database_creates_sqlite_with_wal_and_fks(settings) -> None:
    settings = settings.model_copy(update={"data_dir": settings.data_dir / "nested" / "dir"})
    d = open_database(settings)
    assert (settings.data_dir / "mimir.db").is_file()
    with d.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    d.upgrade()  # idempotent
    d.dispose()
