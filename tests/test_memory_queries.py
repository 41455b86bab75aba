"""Timeline queries and case intake, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from sqlalchemy import select

from mimir.domain import Case
from mimir.memory.db import Database
from mimir.memory.ingest import ingest_paths
from mimir.memory.models import Finding, Patient, Study
from mimir.memory.queries import (
    baseline,
    finding_trajectory,
    nearest_prior,
    patient_studies,
    priors,
    studies_between,
)
from mimir.memory.registration import register_case
from mimir.memory.timeline import patient_timeline

pytest_plugins = ["fixtures.memory_postgres"]  # the db fixture: SQLite and a throw-away PostgreSQL server

# (uid, date, modality, body part): two brain MRs, a chest CT between them, a later brain MR, one undated.
STUDIES = [
    ("s3", date(2024, 6, 1), "MR", "BRAIN"),
    ("s1", date(2023, 1, 5), "MR", "BRAIN"),
    ("s2", date(2023, 8, 9), "CT", "CHEST"),
    ("s4", date(2023, 9, 1), "MR", "BRAIN"),
    ("s0", None, "MR", "BRAIN"),
]


@pytest.fixture
def timeline(db: Database) -> Database:
    with db.session() as s:
        p = Patient(patient_key="P1")
        other = Patient(patient_key="P2")
        s.add_all([p, other])
        for uid, d, mod, bp in STUDIES:
            s.add(Study(patient=p, study_uid=uid, study_date=d, modality=mod, body_part=bp))
        s.add(Study(patient=other, study_uid="x1", study_date=date(2023, 2, 1), modality="MR", body_part="BRAIN"))
    return db


def _study(s, uid: str) -> Study:
    return s.scalar(select(Study).where(Study.study_uid == uid))


def test_patient_studies_in_date_order(timeline: Database) -> None:
    with timeline.session() as s:
        pid = _study(s, "s1").patient_id
        assert [st.study_uid for st in patient_studies(s, pid)] == ["s1", "s2", "s4", "s3", "s0"]


def test_priors_same_patient_modality_body_part_strictly_earlier(timeline: Database) -> None:
    with timeline.session() as s:
        latest = _study(s, "s3")
        assert [st.study_uid for st in priors(s, latest)] == ["s4", "s1"]
        assert nearest_prior(s, latest).study_uid == "s4"
        assert nearest_prior(s, _study(s, "s1")) is None
        assert priors(s, _study(s, "s2")) == []
        with pytest.raises(ValueError, match="no date"):
            priors(s, _study(s, "s0"))


def test_baseline_and_date_range(timeline: Database) -> None:
    with timeline.session() as s:
        pid = _study(s, "s1").patient_id
        assert baseline(s, pid).study_uid == "s1"
        assert baseline(s, pid, modality="CT").study_uid == "s2"
        got = studies_between(s, date(2023, 1, 1), date(2023, 12, 31), patient_id=pid)
        assert [st.study_uid for st in got] == ["s1", "s2", "s4"]
        assert len(studies_between(s, date(2023, 1, 1), date(2023, 12, 31))) == 4
        with pytest.raises(ValueError, match="reversed"):
            studies_between(s, date(2024, 1, 1), date(2023, 1, 1))


def test_finding_trajectory_in_study_date_order(timeline: Database) -> None:
    with timeline.session() as s:
        pid = _study(s, "s1").patient_id
        for uid, v in (("s3", 9.0), ("s1", 12.5), ("s4", 10.0)):
            s.add(Finding(patient_id=pid, study_id=_study(s, uid).id, label="enhancing tumour", value=v, unit="ml"))
        s.add(Finding(patient_id=pid, study_id=_study(s, "s1").id, label="edema", value=1.0, unit="ml"))
    with timeline.session() as s:
        traj = finding_trajectory(s, pid, "enhancing tumour")
        assert [(p.date, p.value, p.unit) for p in traj] == [
            (date(2023, 1, 5), 12.5, "ml"), (date(2023, 9, 1), 10.0, "ml"), (date(2024, 6, 1), 9.0, "ml")]
        assert finding_trajectory(s, pid, "absent") == []


def test_timeline_view(timeline: Database) -> None:
    with timeline.session() as s:
        view = patient_timeline(s, "P1")
        assert [st.study_uid for st in view.studies] == ["s1", "s2", "s4", "s3", "s0"]
        assert patient_timeline(s, "nobody") is None


def test_register_case_fills_metadata_and_leaves_unknown_images_alone(db: Database, settings, tmp_path: Path) -> None:
    known = tmp_path / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm"), known)
    ingest_paths(db, [known], settings)
    unknown = tmp_path / "anon.dcm"
    shutil.copy(get_testdata_file("MR_small.dcm"), unknown)
    case = Case(question="Compare the first image with the second.",
                images=[{"path": str(known), "series_description": "mine"}, {"path": str(unknown)}])
    with db.session() as s:
        out = register_case(s, case, settings)
    assert out is not case and case.images[0].image_id is None  # the input is not mutated
    first, second = out.images
    assert first.image_id is not None and first.modality == "CT" and first.study_date == date(2004, 1, 19)
    assert first.series_description == "mine"  # given values win over the timeline's
    assert second.image_id is None and second.modality is None
    with db.session() as s:
        assert s.scalars(select(Patient)).all()[0].patient_key == "1CT1"
        assert len(s.scalars(select(Patient)).all()) == 1  # no patient invented for the anonymous image
    with pytest.raises(FileNotFoundError), db.session() as s:
        register_case(s, Case(question="q", images=[{"path": str(tmp_path / "missing.png")}]), settings)


def test_a_series_folder_is_registered_only_when_all_its_files_are_one_series(db: Database, settings,
                                                                              tmp_path: Path) -> None:
    series = tmp_path / "series"
    series.mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), series / "a.dcm")
    ingest_paths(db, [series / "a.dcm"], settings)
    with db.session() as s:
        one = register_case(s, Case(question="q", images=[{"path": str(series)}]), settings)
    assert one.images[0].image_id is not None and one.images[0].modality == "CT"

    mixed = tmp_path / "mixed"  # another patient's MR beside the CT: the tools would read both as one volume
    mixed.mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), mixed / "a.dcm")
    shutil.copy(get_testdata_file("MR_small.dcm"), mixed / "b.dcm")
    ingest_paths(db, [mixed / "b.dcm"], settings)
    with pytest.raises(ValueError, match="not one series: 2 series"), db.session() as s:
        register_case(s, Case(question="q", images=[{"path": str(mixed)}]), settings)
    (mixed / "b.dcm").unlink()
    shutil.copy(get_testdata_file("MR_small.dcm"), mixed / "c.dcm")
    (mixed / "c.dcm").write_bytes((mixed / "c.dcm").read_bytes() + b"\0")  # a file the timeline does not know
    with pytest.raises(ValueError, match="1 files it does not know"), db.session() as s:
        register_case(s, Case(question="q", images=[{"path": str(mixed)}]), settings)
