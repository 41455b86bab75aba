"""``mimir ingest --dicomweb`` against a real Orthanc: skips what is present, resumes after a kill or a failure."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from mimir.memory.db import Database, open_database
from mimir.memory.ingest import ingest_paths
from mimir.memory.ingest.dicomweb import ingest_dicomweb
from mimir.memory.models import Image, Patient, RemoteInstance, Series, Study
from mimir.settings import PacsSettings, Settings

if TYPE_CHECKING:
    from fixtures.pacs_orthanc import Flaky, PacsDemo, PacsServer

pytest_plugins = ["fixtures.pacs_orthanc"]  # a real Orthanc with demo patients, and a relay that can slow it down
MIMIR = str(Path(sys.executable).parent / "mimir")
USER, PASSWORD = "mimir", "orthanc-test-password"  # as configured by fixtures/pacs_orthanc.py


def _instances(items: list) -> list:
    """Report items about instances (the PACS may also hold result series, reported as not images)."""
    return [i for i in items if not i.reason.startswith("not an image series")]


def _settings(tmp: Path, name: str, **pacs: object) -> Settings:
    return Settings(data_dir=tmp / name, pacs=PacsSettings(username=USER, password=PASSWORD, **pacs)).ensure_dirs()


def timeline_dump(db: Database) -> list[tuple]:
    """Everything the timeline holds about images, by natural keys (no row ids, no times)."""
    query = (select(Patient.patient_key, Patient.name, Study.study_uid, Study.study_date, Study.modality,
                    Series.series_uid, Series.description, Series.sequence, Image.sop_uid, Image.content_hash,
                    Image.file_format, Image.rows, Image.cols, Image.instance_number, Image.storage_path,
                    RemoteInstance.source, RemoteInstance.sop_uid)
             .join(Study, Study.patient_id == Patient.id).join(Series, Series.study_id == Study.id)
             .join(Image, Image.series_id == Series.id).join(RemoteInstance, RemoteInstance.image_id == Image.id, isouter=True)
             .order_by(Image.sop_uid))
    with db.session() as s:
        return [(*r[:14], Path(r[14]).name, *r[15:]) for r in s.execute(query)]


@pytest.fixture(scope="module")
def reference(pacs_demo: PacsDemo, flaky: Flaky, tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """The timeline after one uninterrupted ingest of the whole PACS (through the relay, without faults)."""
    flaky.reset()
    settings = _settings(tmp_path_factory.mktemp("ref"), "data")
    db = open_database(settings)
    report = ingest_dicomweb(db, settings, flaky.url)
    assert report.counts["ingested"] == sum(pacs_demo.instances.values()) and report.counts["failed"] == 0
    assert all(i.status == "ingested" for i in _instances(report.items))
    dump = timeline_dump(db)
    db.dispose()
    return dump


def test_second_ingest_changes_nothing(reference: list[tuple], pacs_demo: PacsDemo, flaky: Flaky, tmp_path: Path) -> None:
    flaky.reset()
    settings = _settings(tmp_path, "data")
    db = open_database(settings)
    first = ingest_dicomweb(db, settings, flaky.url)
    again = ingest_dicomweb(db, settings, flaky.url)
    total = sum(pacs_demo.instances.values())
    assert first.counts["ingested"] == total
    assert again.counts["ingested"] == 0 and again.counts["failed"] == 0 and len(_instances(again.items)) == total
    assert {i.reason for i in _instances(again.items)} == {"already in the timeline (same SOP Instance UID)"}
    assert flaky.retrievals == len({r[5] for r in reference})  # one WADO-RS request per series, first run only
    assert timeline_dump(db) == reference
    files = sorted(p.name for p in settings.storage_dir.rglob("*") if p.is_file())
    assert files == sorted({r[14] for r in reference})  # one file per instance, nothing left over
    db.dispose()


def test_filters_and_present_instances(pacs_demo: PacsDemo, orthanc: PacsServer, flaky: Flaky, tmp_path: Path) -> None:
    settings = _settings(tmp_path, "data")
    db = open_database(settings)
    one = pacs_demo.patients[0]
    series_files = sorted(pacs_demo.series_dir.glob("*.dcm"))
    local = ingest_paths(db, [*sorted((pacs_demo.folder / "dicom").glob("*.dcm")), *series_files[:5]], settings)
    with db.session() as s:  # some instances arrive from files first: every key slice, 5 slices of the series
        on_disk = {img.sop_uid for i in local.items if i.status == "ingested"
                   if (img := s.get(Image, i.image_id)).series.study.patient.patient_key == one}
    flaky.reset()
    report = ingest_dicomweb(db, settings, flaky.url, patient=one, modalities=["MR"])
    assert {i.study_uid for i in report.items} == set(pacs_demo.studies[one])
    skipped = {i.path.rsplit("/", 1)[1] for i in _instances(report.items) if i.status == "skipped"}
    assert skipped == on_disk and len(on_disk) == 4 * len(pacs_demo.studies[one]) + 5
    assert report.counts["ingested"] == pacs_demo.instances[one] - len(on_disk)
    assert flaky.retrievals == len(series_files) - 5  # only the missing slices, one WADO-RS request each
    with db.session() as s:
        series = s.scalars(select(Series).where(Series.series_uid == pydicom_uid(series_files[0]))).one()
        assert len(series.images) == len(series_files)
    assert ingest_dicomweb(db, settings, orthanc.url, modalities=["CT"]).items == []
    later = ingest_dicomweb(db, settings, orthanc.url, patient=one, since=date(2100, 1, 1))
    assert later.items == []
    db.dispose()


def pydicom_uid(path: Path) -> str:
    import pydicom

    return str(pydicom.dcmread(path, stop_before_pixels=True).SeriesInstanceUID)


def test_down_slow_and_failing_pacs(reference: list[tuple], pacs_demo: PacsDemo, flaky: Flaky, tmp_path: Path) -> None:
    settings = _settings(tmp_path, "data", timeout_s=0.5)
    db = open_database(settings)
    closed = f"http://127.0.0.1:{_closed_port()}/dicom-web"
    down = subprocess.run([MIMIR, "ingest", "--dicomweb", closed], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MIMIR_DATA_DIR": str(settings.data_dir)})
    assert down.returncode == 1 and f"Cannot reach the DICOMweb server at {closed}" in down.stderr

    flaky.reset(delay_s=1.5)
    slow = ingest_dicomweb(db, settings, flaky.url)
    assert slow.counts["ingested"] == 0 and slow.counts["failed"] > 0
    assert any("did not answer within 0.5 s" in i.reason for i in slow.items)
    assert any(i.reason.startswith("not tried:") for i in slow.items)  # the rest waits for the rerun
    assert timeline_dump(db) == [] and not [p for p in settings.storage_dir.rglob("*") if p.is_file()]

    flaky.reset(fail_on={3})  # the third series retrieval fails, inside the first study
    failing = ingest_dicomweb(db, settings.model_copy(update={"pacs": settings.pacs.model_copy(update={"timeout_s": 30})}), flaky.url)
    bad = {i.study_uid for i in failing.items if i.status == "failed"}
    assert len(bad) == 1 and any("answered HTTP 500" in i.reason for i in failing.items)
    assert bad.isdisjoint({r[2] for r in timeline_dump(db)})  # nothing of the failed study was written
    assert failing.counts["ingested"] == sum(pacs_demo.instances.values()) - sum(i.status == "failed" for i in failing.items)

    flaky.reset()
    resumed = ingest_dicomweb(db, settings.model_copy(update={"pacs": settings.pacs.model_copy(update={"timeout_s": 30})}), flaky.url)
    assert resumed.counts["failed"] == 0 and {i.study_uid for i in resumed.items if i.status == "ingested"} == bad
    assert timeline_dump(db) == reference
    db.dispose()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _studies(db_file: Path) -> int:
    if not db_file.exists():
        return 0
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5) as conn:
        try:
            return int(conn.execute("select count(*) from studies").fetchone()[0])
        except sqlite3.OperationalError:  # tables not created yet
            return 0


def test_killed_ingest_resumes_to_the_same_timeline(reference: list[tuple], pacs_demo: PacsDemo, flaky: Flaky,
                                                     tmp_path: Path) -> None:
    settings = _settings(tmp_path, "data")
    env = {**os.environ, "MIMIR_DATA_DIR": str(settings.data_dir), "MIMIR_PACS__USERNAME": USER,
           "MIMIR_PACS__PASSWORD": PASSWORD}
    total = sum(len(v) for v in pacs_demo.studies.values())
    flaky.reset(delay_s=0.4)  # about 3 s per study of 8 series: time to kill it midway
    proc = subprocess.Popen([MIMIR, "ingest", "--dicomweb", flaky.url, "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db_file = settings.data_dir / "mimir.db"
    deadline = time.monotonic() + 120
    while _studies(db_file) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done = _studies(db_file)
    assert 1 <= done < total, f"the kill came too late: {done} of {total} studies were already in"

    db = open_database(settings)
    partial = timeline_dump(db)
    by_study = {}
    for row in partial:
        by_study.setdefault(row[2], 0)
        by_study[row[2]] += 1
    per_study = {r[2]: sum(1 for x in reference if x[2] == r[2]) for r in reference}
    assert all(n == per_study[uid] for uid, n in by_study.items())  # committed studies are whole

    flaky.reset()
    rerun = subprocess.run([MIMIR, "ingest", "--dicomweb", flaky.url], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert timeline_dump(db) == reference
    db.dispose()


def test_refresh_replaces_what_changed_on_the_server(pacs_demo: PacsDemo, orthanc: PacsServer, tmp_path: Path) -> None:
    import pydicom

    settings = _settings(tmp_path, "data")
    db = open_database(settings)
    one = pacs_demo.patients[1]
    ingest_dicomweb(db, settings, orthanc.url, patient=one)
    key_slice = next(p for p in sorted((pacs_demo.folder / "dicom").glob("*.dcm")) if pydicom.dcmread(p).PatientID == one)
    ds = pydicom.dcmread(key_slice)
    with db.session() as s:
        before = s.scalars(select(Image).where(Image.sop_uid == ds.SOPInstanceUID)).one()
        old_id, old_hash = before.id, before.content_hash
    ds.SeriesDescription = str(ds.SeriesDescription) + " (corrected)"
    ds.PixelData = bytes(len(ds.PixelData))  # the PACS now holds a different image under the same UID
    client = orthanc.client()
    try:
        client.store_instances([ds])
        report = ingest_dicomweb(db, settings, orthanc.url, patient=one, refresh=True)
    finally:
        client.store_instances([pydicom.dcmread(key_slice)])  # the session's PACS goes back to the demo files
    changed = [i for i in report.items if i.status == "ingested"]
    assert [i.path.rsplit("/", 1)[1] for i in changed] == [ds.SOPInstanceUID]
    assert changed[0].reason == "refreshed: content changed on the server" and changed[0].image_id == old_id
    assert sum(i.status == "skipped" for i in _instances(report.items)) == pacs_demo.instances[one] - 1
    with db.session() as s:
        after = s.get(Image, old_id)
        assert after.content_hash != old_hash and Path(after.storage_path).is_file()
        assert pydicom.dcmread(after.storage_path).PixelData == bytes(len(ds.PixelData))
    db.dispose()


def test_a_token_is_sent_as_a_bearer_header(flaky: Flaky, tmp_path: Path) -> None:
    from mimir.memory.ingest.pacs_client import PacsError

    settings = Settings(data_dir=tmp_path / "d", pacs=PacsSettings(token="t0ken")).ensure_dirs()
    db = open_database(settings)
    flaky.reset()
    with pytest.raises(PacsError, match=r"refused access \(HTTP 401\)"):  # Orthanc here knows users, not tokens
        ingest_dicomweb(db, settings, flaky.url)
    assert flaky.authorizations and set(flaky.authorizations) == {"Bearer t0ken"}
    assert Settings().pacs.verify_tls is True  # TLS certificates are checked unless switched off
    db.dispose()


def test_bad_urls_and_credentials(orthanc: PacsServer, pacs_demo: PacsDemo, tmp_path: Path) -> None:
    from mimir.memory.ingest.pacs_client import PacsError

    settings = _settings(tmp_path, "data")
    db = open_database(settings)
    with pytest.raises(PacsError, match="not in the URL"):
        ingest_dicomweb(db, settings, orthanc.url.replace("http://", f"http://{USER}:{PASSWORD}@"))
    with pytest.raises(PacsError, match="must start with http"):
        ingest_dicomweb(db, settings, "ftp://127.0.0.1/dicom-web")
    wrong = settings.model_copy(update={"pacs": PacsSettings(username=USER, password="wrong")})
    with pytest.raises(PacsError, match=r"refused access \(HTTP 401\).*MIMIR_PACS__TOKEN"):
        ingest_dicomweb(db, wrong, orthanc.url)
    with db.session() as s:
        assert s.scalar(select(Image.id)) is None
    db.dispose()


def test_pacs_settings_from_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "mimir.toml"
    config.write_text('[pacs]\nurl = "https://pacs.example.org/dicom-web"\nusername = "reader"\npassword = "s3cret"\n'
                      'ca_bundle = "/etc/ssl/hospital-ca.pem"\n')
    monkeypatch.setenv("MIMIR_CONFIG", str(config))
    monkeypatch.setenv("MIMIR_PACS__TIMEOUT_S", "5")
    pacs = Settings().pacs
    assert (pacs.url, pacs.username, pacs.timeout_s, pacs.verify_tls) == ("https://pacs.example.org/dicom-web", "reader", 5.0, True)
    assert pacs.password is not None and pacs.password.get_secret_value() == "s3cret" and "s3cret" not in repr(pacs)
