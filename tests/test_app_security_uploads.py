"""Uploads as an attacker and a careless client would send them: bombs, cut-off requests, orphans.

Every refused upload must leave nothing in staging, storage or the timeline; every accepted one
must be readable afterwards, and a stored file damaged later is a 4xx, never a 500.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixtures.app_security import (
    CT,
    MR,
    app_client,
    files_under,
    nifti_bytes,
    png_header,
    second_ct,
    serve,
    zip_bytes,
)
from sqlalchemy import func, select

from mimir.memory.models import Image
from mimir.settings import Settings

# 4. Size limits: bombs refused while streaming, on decompressed bytes -----------------------------

@pytest.fixture
def small(tmp_path: Path) -> TestClient:
    """An app whose uploads may unpack to 1 MB, with 10^6-pixel images and 2*10^6-voxel volumes."""
    settings = Settings(data_dir=tmp_path / "data", upload_max_mb=1, image_max_pixels=10**6,
                        volume_max_voxels=2 * 10**6).ensure_dirs()
    return app_client(settings, with_ui=False)


def _nothing_kept(client: TestClient) -> None:
    service = client.app.state.service
    assert files_under(service.settings.storage_dir) == set() and files_under(service.staging_dir) == set()
    with service.db.session() as s:
        assert s.scalar(select(func.count(Image.id))) == 0


BOMBS = {
    # three inner archives of 0.6 MB each: every one under the limit, together over it
    "nested zip": ("bomb.zip", zip_bytes({f"inner{i}.zip": zip_bytes({"a.dcm": b"\0" * 600_000})
                                          for i in range(3)}), 413),
    "zips nested too deep": ("deep.zip", zip_bytes({"1.zip": zip_bytes({"2.zip": zip_bytes({"3.zip": zip_bytes(
        {"x.dcm": CT})})})}), 413),
    "PNG of 14000 x 14000 pixels": ("big.png", png_header(14000, 14000), 413),
    "NIfTI claiming 2048^3 voxels": ("big.nii.gz", nifti_bytes((2048, 2048, 2048), data=False), 413),
    "NIfTI expanding past the budget": ("fat.nii.gz", nifti_bytes((125, 100, 100)), 413),
    "truncated .nii.gz": ("cut.nii.gz", nifti_bytes((20, 20, 20))[:-40], 400),
    "5-D NIfTI": ("five.nii", nifti_bytes((4, 4, 4, 2, 2), gz=False), 400),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_bombs_are_refused_without_being_kept(small: TestClient, name: str) -> None:
    filename, data, status = BOMBS[name]
    assert len(data) < 200_000
    r = small.post("/api/ingest", files=[("files", (filename, data))])
    assert r.status_code == status, r.text
    assert str(small.app.state.service.settings.data_dir) not in r.text  # no server path in the reason
    _nothing_kept(small)


def test_huge_png_is_refused_by_the_cli_ingest_too(tmp_path: Path) -> None:
    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths

    png, manifest = tmp_path / "big.png", tmp_path / "m.csv"
    png.write_bytes(png_header(14000, 14000))
    manifest.write_text("patient,date,modality,path\nP1,2024-01-01,MR,big.png\n")
    settings = Settings(data_dir=tmp_path / "d").ensure_dirs()
    report = ingest_paths(open_database(settings), [png], settings, manifest=manifest)
    assert report.counts["failed"] == 1 and "too large" in report.items[0].reason


def test_cli_ingest_refuses_truncated_and_5dnifti_bytes(tmp_path: Path) -> None:
    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths

    (tmp_path / "cut.nii.gz").write_bytes(nifti_bytes((20, 20, 20))[:-40])
    (tmp_path / "five.nii").write_bytes(nifti_bytes((4, 4, 4, 2, 2), gz=False))
    (tmp_path / "ok.nii.gz").write_bytes(nifti_bytes((8, 8, 8)))
    settings = Settings(data_dir=tmp_path / "d").ensure_dirs()
    report = ingest_paths(open_database(settings), sorted(tmp_path.glob("*.nii*")), settings)
    by_name = {Path(i.path).name: i for i in report.items}
    assert by_name["cut.nii.gz"].status == "failed" and "truncated" in by_name["cut.nii.gz"].reason
    assert by_name["five.nii"].status == "failed" and "5-D" in by_name["five.nii"].reason
    assert by_name["ok.nii.gz"].status == "ingested"


def _response_after(sock, chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send chunks until the server answers; returns the answer's first line and the bytes sent."""
    import select as sel

    sent = 0
    for chunk in chunks:
        if sel.select([sock], [], [], 0)[0]:
            break
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    sock.settimeout(30)
    return sock.recv(4096).split(b"\r\n", 1)[0], sent


def test_oversized_requests_are_refused_while_streaming(small: TestClient) -> None:
    import socket

    mb = 2**20
    head = (b"POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n")
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.dcm"\r\n\r\n'
    for server in serve(small.app):
        with socket.create_connection(server) as sock:  # announces 600 MB: refused unread
            sock.sendall(head + b"Content-Length: %d\r\n\r\n" % (600 * mb) + part)
            line, _ = _response_after(sock, iter([]))
            assert line.startswith(b"HTTP/1.1 413 "), line
        with socket.create_connection(server) as sock:  # chunked: refused once over 1 MB
            sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
            chunks = (b"%x\r\n%s\r\n" % (mb, (part if i == 0 else b"") + b"\0" * (mb - (len(part) if i == 0 else 0)))
                      for i in range(600))
            line, sent = _response_after(sock, chunks)
            assert line.startswith(b"HTTP/1.1 413 "), line
            assert sent < 20 * mb, sent
    _nothing_kept(small)


# 5. Uploads that never worked -------------------------------------------------------------------

NIB = Path(__import__("nibabel").__file__).parent / "tests" / "data"


def test_nifti_uploads_work_with_a_manifest(settings: Settings) -> None:
    small = app_client(settings, with_ui=False)
    manifest = b"patient,date,modality,description,path\nP-NII,2024-05-01,MR,T1 axial,anatomical.nii\n"
    files = [("files", ("anatomical.nii", (NIB / "anatomical.nii").read_bytes())),
             ("files", ("example4d.nii.gz", (NIB / "example4d.nii.gz").read_bytes())),
             ("files", ("manifest.csv", manifest))]
    r = small.post("/api/ingest", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["ingested"] == 2
    tl = small.get("/api/patients/P-NII/timeline").json()
    assert tl["studies"][0]["study_date"] == "2024-05-01" and tl["studies"][0]["modality"] == "MR"
    for item in r.json()["items"]:  # the 4-D volume shows its first volume
        assert small.get(f"/api/images/{item['image_id']}/thumbnail").status_code == 200


def test_png_with_manifest_works_with_the_default_relative_data_folder(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from PIL import Image as PILImage

    monkeypatch.chdir(tmp_path)
    client = app_client(Settings(), with_ui=False)
    assert client.app.state.service.settings.data_dir == tmp_path / ".mimir"
    buf = io.BytesIO()
    PILImage.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).save(buf, "PNG")
    manifest = b"patient,date,modality,path\nP-REL,2024-03-01,CR,chest.png\n"
    r = client.post("/api/ingest", files=[("files", ("chest.png", buf.getvalue())), ("files", ("m.csv", manifest))])
    assert r.status_code == 200 and r.json()["counts"]["ingested"] == 1, r.text


# 6. Orphaned copies -----------------------------------------------------------------------------

def _referenced(service) -> set[str]:
    with service.db.session() as s:
        return {str(Path(p).resolve()) for p in s.scalars(select(Image.storage_path))}


def test_storage_holds_exactly_the_referenced_files(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data").ensure_dirs()
    client = app_client(settings, with_ui=False)
    study = zip_bytes({"a/ct.dcm": CT, "a/mr.dcm": MR, "a/cut.dcm": CT[: len(CT) // 2]})
    good = zip_bytes({"a/ct.dcm": CT, "a/mr.dcm": MR})
    post = lambda files: client.post("/api/ingest", files=[("files", f) for f in files])  # noqa: E731
    assert post([("study.zip", study)]).status_code == 400  # one bad member: nothing kept
    assert post([("good.zip", good)]).json()["counts"] == {"ingested": 2, "skipped": 0, "failed": 0}
    assert post([("good.zip", good)]).json()["counts"] == {"ingested": 0, "skipped": 2, "failed": 0}
    assert post([("ct.dcm", CT), ("again.dcm", CT), ("new.dcm", second_ct())]).json()["counts"]["ingested"] == 1
    assert post([("slice.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)]).status_code == 400
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="cut.dcm"\r\n\r\n' + CT[:5000]
    r = client.post("/api/ingest", content=part, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 400 and "ended before" in r.text  # the client went away mid-upload
    service = client.app.state.service
    stored = {str(p.resolve()) for p in settings.storage_dir.rglob("*") if p.is_file()}
    assert stored == _referenced(service) and len(stored) == 3
    assert files_under(service.staging_dir) == set()

    # A server killed mid-upload leaves a staged upload and a moved, uncommitted file: the next start removes both.
    import os
    import time

    (service.staging_dir / "0123abcd").mkdir()
    (service.staging_dir / "0123abcd" / "incoming-00000").write_bytes(CT)
    orphan = settings.storage_dir / "ab" / ("ab" + "0" * 62 + ".dcm")
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(MR)
    os.utime(orphan, (time.time() - 7200, time.time() - 7200))
    restarted = app_client(settings, with_ui=False)
    assert {str(p.resolve()) for p in settings.storage_dir.rglob("*") if p.is_file()} == stored
    assert files_under(restarted.app.state.service.staging_dir) == set()


# 7. Input at fault: 4xx, never 500 --------------------------------------------------------------

def test_a_stored_file_deleted_or_damaged_after_ingest_is_a_4xx(small: TestClient) -> None:
    r = small.post("/api/ingest", files=[("files", ("ct.dcm", CT)), ("files", ("v.nii.gz", nifti_bytes((8, 8, 8))))])
    ct, vol = (i["image_id"] for i in r.json()["items"])
    service = small.app.state.service
    service.image_path(ct).unlink()
    path = service.image_path(vol)
    path.write_bytes(path.read_bytes()[:30])
    for image_id in (ct, vol):
        for route in ("thumbnail", "view"):
            r = small.get(f"/api/images/{image_id}/{route}")
            assert r.status_code == 422, (image_id, route, r.status_code)
            assert str(service.settings.data_dir) not in r.text
    assert small.post("/api/ask", json={"question": "q", "image_ids": [ct]}).status_code == 422
