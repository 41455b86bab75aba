"""Uploads through the API: bad ones are refused with a reason and leave the timeline unchanged."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file
from sqlalchemy import func, select

from mimir.app.server import create_app
from mimir.memory.models import Image, Study
from mimir.settings import Settings


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")


def _state(client: TestClient) -> tuple[int, int, list[str]]:
    service = client.app.state.service
    with service.db.session() as s:
        n_img = s.scalar(select(func.count(Image.id)))
        n_study = s.scalar(select(func.count(Study.id)))
    stored = sorted(str(p) for p in service.settings.storage_dir.rglob("*") if p.is_file())
    return n_img, n_study, stored


def _post(client: TestClient, files: list[tuple[str, bytes]]):
    return client.post("/api/ingest", files=[("files", (name, data)) for name, data in files])


CT = Path(get_testdata_file("CT_small.dcm")).read_bytes()
MR = Path(get_testdata_file("MR_small.dcm")).read_bytes()


def test_good_dicom_upload_is_ingested(client: TestClient) -> None:
    r = _post(client, [("ct.dcm", CT), ("mr.dcm", MR)])
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["ingested"] == 2
    n_img, n_study, stored = _state(client)
    assert n_img == 2 and n_study == 2
    root = client.app.state.service.settings.data_dir.resolve()
    assert all(Path(p).resolve().is_relative_to(root) for p in stored)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


BAD_UPLOADS = {
    "text named .dcm": ([("scan.dcm", b"this is not a dicom file\n" * 20)], "not a DICOM file"),
    "truncated dicom": ([("cut.dcm", CT[: len(CT) // 2])], "truncated"),
    "zip with ../ path": ([("study.zip", _zip({"ok.dcm": CT, "../../evil.dcm": MR}))], "unsafe path"),
    # The request itself is over the limit: refused (413) before its body is read.
    "file over the size limit": ([("big.dcm", CT + b"\0" * (2 * 2**20))], "Content Too Large"),
    "good file with a bad one": ([("ct.dcm", CT), ("notes.dcm", b"hello")], "not a DICOM file"),
}


@pytest.mark.parametrize("name", list(BAD_UPLOADS))
def test_bad_upload_is_refused_and_changes_nothing(tmp_path: Path, name: str) -> None:
    settings = Settings(data_dir=tmp_path / "d", upload_max_mb=1).ensure_dirs()
    client = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")
    before = _state(client)
    files, reason = BAD_UPLOADS[name]
    r = _post(client, files)
    assert r.status_code == (413 if reason == "Content Too Large" else 400), r.text
    assert reason in r.text
    assert _state(client) == before
    assert not (tmp_path / "evil.dcm").exists() and not (tmp_path / "d" / "evil.dcm").exists()


def test_upload_names_are_not_trusted(client: TestClient) -> None:
    r = _post(client, [("../../../../tmp/escape.dcm", CT)])
    assert r.status_code == 200, r.text
    _, _, stored = _state(client)
    assert stored and all("escape" not in p for p in stored)


def test_png_upload_with_manifest(client: TestClient, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).save(buf, "PNG")
    manifest = b"patient,date,modality,description,path\nP-UP-1,2024-03-01,MR,AX FLAIR,slice.png\n"
    r = _post(client, [("slice.png", buf.getvalue()), ("manifest.csv", manifest)])
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["ingested"] == 1
    tl = client.get("/api/patients/P-UP-1/timeline").json()
    assert tl["studies"][0]["study_date"] == "2024-03-01"
