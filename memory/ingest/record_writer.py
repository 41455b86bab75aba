"""Writing ``ImageRecord``s into the timeline, one study per transaction."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from mimir.memory.ingest.records import ImageRecord
from mimir.memory.models import Image, Patient, Report, Series, Study

_IN_CHUNK = 500
_HASH_NAME = re.compile(r"^[0-9a-f]{64}(\.[a-z0-9.]+)?$")


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


def storage_target(rec: ImageRecord, storage_dir: Path) -> Path:
    """Where a copied or moved file lives: ``<storage>/<hash[:2]>/<hash><suffix>``."""
    src = Path(rec.path)
    suffix = ".nii.gz" if src.name.lower().endswith(".nii.gz") else src.suffix.lower()
    return storage_dir / rec.content_hash[:2] / f"{rec.content_hash}{suffix}"


def stored_path(rec: ImageRecord, storage_dir: Path, copy: bool, *, move: bool = False) -> str:
    """The path the timeline keeps: the file in place, or a content-hash copy (or the moved file) in storage_dir."""
    src = Path(rec.path).resolve()
    if not (copy or move):
        return str(src)
    dest = storage_target(rec, storage_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        if move:
            src.unlink()  # the same content is stored already (left by an interrupted ingest)
        return str(dest)
    if move:
        os.replace(src, dest)  # staging and storage share the data directory's filesystem
    else:
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
    return str(dest)


def unreferenced(session: Session, paths: list[Path]) -> list[Path]:
    """Those of ``paths`` that exist and no timeline image points to.

    An image points to a file by its content hash (the file's name) or by its storage path, which a
    CLI ingest with a relative data directory may have kept relative: paths are compared by name.
    """
    existing = [p for p in paths if p.exists()]
    if not existing:
        return []
    hashes = [p.name.split(".", 1)[0] for p in existing]
    known = set(session.scalars(select(Image.content_hash).where(Image.content_hash.in_(hashes))))
    out = []
    for p, h in zip(existing, hashes, strict=True):
        if h in known:
            continue
        named = session.scalars(select(Image.storage_path).where(Image.storage_path.like(f"%{p.name}")))
        if not any(Path(sp).name == p.name for sp in named):
            out.append(p)
    return out


def sweep_storage(session: Session, storage_dir: Path, older_than_s: float) -> list[Path]:
    """Remove content-hash files in ``storage_dir`` that no image references (left by a killed ingest).

    Only files older than ``older_than_s`` are considered, so an ingest still running in another
    process keeps the files it has moved but not yet committed. Returns the removed files.
    """
    cutoff = time.time() - older_than_s
    found = [p for p in storage_dir.glob("??/*") if p.is_file() and _HASH_NAME.match(p.name)
             and p.stat().st_mtime < cutoff]
    removed = []
    for i in range(0, len(found), _IN_CHUNK):
        for p in unreferenced(session, found[i : i + _IN_CHUNK]):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def write_study(session: Session, records: list[ImageRecord], storage_dir: Path, copy: bool, *,
                move: bool = False) -> list[int]:
    """Add the images of one study (all records share ``study_uid``) in one batch; returns their ids, in order.

    With ``move`` the files are moved into ``storage_dir`` (uploads leaving their staging folder).
    """
    study = _study(session, records[0])
    series = _series_ids(session, records, study)
    rows = [
        {"series_id": series[rec.series_uid], "sop_uid": rec.sop_uid, "content_hash": rec.content_hash,
         "storage_path": stored_path(rec, storage_dir, copy, move=move), "file_format": rec.file_format,
         "frame": rec.frame, "rows": rec.rows, "cols": rec.cols, "n_slices": rec.n_slices,
         "spacing": rec.spacing, "instance_number": rec.instance_number}
        for rec in records
    ]
    session.execute(insert(cast(Table, Image.__table__)), rows)  # Core executemany: no ORM bookkeeping per row
    hashes = [rec.content_hash for rec in records]  # the rows' hashes, in order
    ids: dict[str, int] = {}
    for i in range(0, len(hashes), _IN_CHUNK):  # content hashes are unique: they name the new rows
        query = select(Image.content_hash, Image.id).where(Image.content_hash.in_(hashes[i : i + _IN_CHUNK]))
        ids.update((h, n) for h, n in session.execute(query))
    return [ids[h] for h in hashes]
