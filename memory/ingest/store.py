"""Writing ``ImageRecord``s into the timeline, one study per transaction."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mimir.memory.ingest.records import ImageRecord
from mimir.memory.models import Image, Patient, Report, Series, Study

_IN_CHUNK = 500


def _patient(session: Session, rec: ImageRecord) -> Patient:
    p = session.scalar(select(Patient).where(Patient.patient_key == rec.patient_key))
    if p is None:
        p = Patient(patient_key=rec.patient_key, name=rec.patient_name, birth_date=rec.birth_date, sex=rec.sex)
        session.add(p)
        session.flush()
    return p


def _study(session: Session, rec: ImageRecord) -> Study:
    st = session.scalar(select(Study).where(Study.study_uid == rec.study_uid))
    if st is None:
        st = Study(
            patient_id=_patient(session, rec).id, study_uid=rec.study_uid, study_date=rec.study_date,
            study_time=rec.study_time, modality=rec.modality, description=rec.study_description,
            accession=rec.accession, body_part=rec.body_part,
        )
        session.add(st)
        session.flush()
    if rec.report and not any(r.text == rec.report for r in st.reports):
        st.reports.append(Report(text=rec.report))
    return st


def _series_ids(session: Session, records: list[ImageRecord], study: Study) -> dict[str, int]:
    """Series id per series UID of ``records``: one query for those already stored, one flush for new ones."""
    uids = list(dict.fromkeys(rec.series_uid for rec in records))
    found = {se.series_uid: se for se in session.scalars(select(Series).where(Series.series_uid.in_(uids)))}
    for rec in records:
        if rec.series_uid not in found:
            found[rec.series_uid] = se = Series(
                study_id=study.id, series_uid=rec.series_uid, modality=rec.modality,
                description=rec.series_description, sequence=rec.sequence, view=rec.view,
                laterality=rec.laterality, body_part=rec.body_part, series_number=rec.series_number,
            )
            session.add(se)
    session.flush()
    return {uid: se.id for uid, se in found.items()}


def stored_path(rec: ImageRecord, storage_dir: Path, copy: bool) -> str:
    """The path the timeline keeps: the file in place, or a content-hash copy in storage_dir."""
    src = Path(rec.path).resolve()
    if not copy:
        return str(src)
    suffix = ".nii.gz" if src.name.lower().endswith(".nii.gz") else src.suffix.lower()
    dest = storage_dir / rec.content_hash[:2] / f"{rec.content_hash}{suffix}"
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
    return str(dest)


def write_study(session: Session, records: list[ImageRecord], storage_dir: Path, copy: bool) -> list[int]:
    """Add the images of one study (all records share ``study_uid``) in one batch; returns their ids, in order."""
    study = _study(session, records[0])
    series = _series_ids(session, records, study)
    rows = [
        {"series_id": series[rec.series_uid], "sop_uid": rec.sop_uid, "content_hash": rec.content_hash,
         "storage_path": stored_path(rec, storage_dir, copy), "file_format": rec.file_format,
         "frame": rec.frame, "rows": rec.rows, "cols": rec.cols, "n_slices": rec.n_slices,
         "spacing": rec.spacing, "instance_number": rec.instance_number}
        for rec in records
    ]
    session.execute(insert(Image.__table__), rows)  # Core executemany: no ORM bookkeeping per row
    hashes = [r["content_hash"] for r in rows]
    ids: dict[str, int] = {}
    for i in range(0, len(hashes), _IN_CHUNK):  # content hashes are unique: they name the new rows
        query = select(Image.content_hash, Image.id).where(Image.content_hash.in_(hashes[i : i + _IN_CHUNK]))
        ids.update((h, n) for h, n in session.execute(query))
    return [ids[h] for h in hashes]
