"""Ingestion of real DICOM (pydicom, pydicom-data), NIfTI (nibabel) and PNG files, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel
import numpy as np
import pytest
from PIL import Image as PILImage
from pydicom.data import get_testdata_file, get_testdata_files
from skimage import data as skdata
from sqlalchemy import func, select

from mimir.memory.db import Database
from mimir.memory.ingest import expand_paths, ingest_paths
from mimir.memory.ingest import record_writer as ingest_store
from mimir.memory.models import Image, Patient, Series, Study

pytest_plugins = ["fixtures.memory_postgres"]  # the db fixture: SQLite and a throw-away PostgreSQL server

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
NIB_DATA = Path(nibabel.__file__).parent / "tests" / "data"


def _row_counts(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (Patient, Study, Series, Image)}


def test_every_pydicom_test_file_is_reported_and_rerun_changes_nothing(db: Database, settings) -> None:
    paths = get_testdata_files()
    assert any("data_store" in p for p in paths), "pydicom-data files are expected alongside pydicom's"
    files = expand_paths(paths)
    report = ingest_paths(db, paths, settings)
    assert [i.path for i in report.items] == [str(f) for f in files]
    assert report.counts["ingested"] > 100
    for item in report.items:
        assert item.status == "ingested" or item.reason, item
    reasons = " ".join(i.reason for i in report.items)
    assert "DICOMDIR" in reasons and "truncated" in reasons and "not a DICOM file" in reasons
    # compressed transfer syntaxes are listed as ingested (pixels are not decoded at ingest)
    assert any(i.status == "ingested" and "JPEG2000" in i.path for i in report.items)
    before = _row_counts(db)
    again = ingest_paths(db, paths, settings)
    assert _row_counts(db) == before
    assert again.counts["ingested"] == 0
    assert {i.reason for i in again.by_status("skipped") if i.path in {x.path for x in report.by_status("ingested")}} == {
        "already ingested (same content hash)"}


def test_ct_header_facts(db: Database, settings) -> None:
    ingest_paths(db, [get_testdata_file("CT_small.dcm")], settings)
    with db.session() as s:
        img = s.scalar(select(Image))
        assert (img.rows, img.cols, img.file_format) == (128, 128, "dicom")
        assert img.storage_path == str(Path(get_testdata_file("CT_small.dcm")).resolve())
        assert img.series.study.modality == "CT" and img.series.study.study_date.year == 2004
        assert img.series.study.patient.patient_key == "1CT1"


def test_truncated_and_fake_dicom_are_reported_while_the_rest_goes_on(db: Database, settings, tmp_path: Path) -> None:
    src = Path(get_testdata_file("MR_small.dcm"))
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    fake = tmp_path / "notes.dcm"
    fake.write_text("this is a text file, not an image\n" * 20)
    good = tmp_path / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm"), good)
    report = ingest_paths(db, [cut, fake, good], settings)
    by = {Path(i.path).name: i for i in report.items}
    assert by["cut.dcm"].status == "failed" and by["cut.dcm"].reason.startswith("truncated")
    assert by["notes.dcm"].status == "skipped" and by["notes.dcm"].reason.startswith("not a DICOM file")
    assert by["ct.dcm"].status == "ingested"
    assert _row_counts(db)["images"] == 1


def test_nifti_with_sidecar(db: Database, settings, tmp_path: Path) -> None:
    tmp_path = tmp_path / "scans"
    tmp_path.mkdir()
    nii = tmp_path / "example4d.nii.gz"
    shutil.copy(NIB_DATA / "example4d.nii.gz", nii)
    (tmp_path / "example4d.nii.gz.json").write_text(json.dumps(
        {"patient": "N1", "study_date": "2023-05-04", "modality": "MR", "description": "AX FLAIR", "body_part": "BRAIN"}))
    plain = tmp_path / "anatomical.nii"
    shutil.copy(NIB_DATA / "anatomical.nii", plain)
    report = ingest_paths(db, [tmp_path], settings)
    assert {Path(i.path).name: i.status for i in report.items} == {
        "anatomical.nii": "ingested", "example4d.nii.gz": "ingested", "example4d.nii.gz.json": "skipped"}
    with db.session() as s:
        img = s.scalar(select(Image).join(Series).where(Series.sequence == "FLAIR"))
        assert img.series.study.patient.patient_key == "N1" and str(img.series.study.study_date) == "2023-05-04"
        assert img.file_format == "nifti" and img.n_slices == 24 and len(img.spacing) == 3


def test_png_needs_a_manifest_and_copy_stores_by_hash(db: Database, settings, tmp_path: Path) -> None:
    png = tmp_path / "fundus.png"
    PILImage.fromarray(skdata.retina()[::8, ::8]).save(png)
    skipped = ingest_paths(db, [png], settings)
    assert skipped.items[0].status == "skipped" and skipped.items[0].reason.startswith("no manifest entry")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("patient,date,modality,description,laterality,view,body_part,path\n"
                        "F7,2022-03-01,OP,fundus photo,left,,EYE,fundus.png\n")
    report = ingest_paths(db, [png], settings, manifest=manifest, copy=True)
    assert report.items[0].status == "ingested"
    with db.session() as s:
        img = s.scalar(select(Image))
        assert img.file_format == "png" and img.series.laterality == "L"
        assert Path(img.storage_path).is_relative_to(settings.storage_dir) and Path(img.storage_path).is_file()
        assert img.content_hash in img.storage_path


def test_a_failure_inside_a_study_rolls_back_that_study_only(db: Database, settings, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pngs = []
    for i in range(3):
        p = tmp_path / f"im{i}.png"
        PILImage.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) + i).save(p)
        pngs.append(p)
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps([
        {"patient": "A", "date": "2024-01-01", "modality": "CR", "path": "im0.png"},
        {"patient": "A", "date": "2024-01-01", "modality": "CR", "path": "im1.png", "view": "LAT"},
        {"patient": "B", "date": "2024-02-01", "modality": "CR", "path": "im2.png"},
    ]))
    real = ingest_store.stored_path

    def disk_full_on_im1(rec, storage_dir, copy, **kw):  # stands in for a disk error while copying one file
        if rec.path.endswith("im1.png"):
            raise OSError(28, "No space left on device")
        return real(rec, storage_dir, copy, **kw)

    monkeypatch.setattr(ingest_store, "stored_path", disk_full_on_im1)
    report = ingest_paths(db, pngs, settings, manifest=manifest)
    assert [i.status for i in report.items] == ["failed", "failed", "ingested"]
    assert "rolled back" in report.items[0].reason
    with db.session() as s:
        assert [p.patient_key for p in s.scalars(select(Patient))] == ["B"]
