"""The review server as an attacker and a careless client would use it: each defect once found, refused now.

Two patients from pydicom's real test files (CT_small: patient 1CT1, two images; MR_small: patient
4MR1) are ingested through the API; every refused request must change nothing on disk or in the
timeline.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file
from sqlalchemy import func, select

from mimir.app.server import create_app
from mimir.memory.models import Finding, Image, ReviewEvent, ReviewThread, ToolRun
from mimir.settings import Settings

CT = Path(get_testdata_file("CT_small.dcm")).read_bytes()
MR = Path(get_testdata_file("MR_small.dcm")).read_bytes()


def _second_ct() -> bytes:
    """Another image of CT_small's patient (new SOP instance, one pixel changed)."""
    ds = pydicom.dcmread(io.BytesIO(CT))
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["mimir"])
    arr = ds.pixel_array.copy()
    arr[0, 0] += 1
    ds.PixelData = arr.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


class Two:
    """The app over two patients: A (1CT1) with images a1, a2 and B (4MR1) with image b."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings = Settings(data_dir=root / "data").ensure_dirs()
        self.client = TestClient(create_app(self.settings, with_ui=False), base_url="http://127.0.0.1")
        r = self.client.post("/api/ingest", files=[("files", ("a1.dcm", CT)), ("files", ("a2.dcm", _second_ct())),
                                                   ("files", ("b.dcm", MR))])
        assert r.status_code == 200 and r.json()["counts"]["ingested"] == 3, r.text
        self.a1, self.a2, self.b = (i["image_id"] for i in r.json()["items"])
        self.service = self.client.app.state.service

    def counts(self) -> dict[str, int]:
        with self.service.db.session() as s:
            return {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in
                    (Finding, ReviewThread, ReviewEvent, ToolRun, Image)}

    def snapshot(self) -> tuple[dict[str, int], set[str]]:
        return self.counts(), _files(self.root)


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Two]:
    yield Two(tmp_path_factory.mktemp("two"))


# 1. Path traversal through thread_id ------------------------------------------------------------

@pytest.mark.parametrize("thread_id", ["../../../../x", "/tmp/x", "..", "a/b", "x\\..\\y", "x\x00y", "é" * 65])
def test_thread_id_cannot_name_a_path(two: Two, thread_id: str) -> None:
    before = two.snapshot()
    r = two.client.post("/api/ask", json={"question": "Is it larger?", "image_ids": [two.a1], "thread_id": thread_id})
    assert r.status_code == 422, r.text
    assert two.snapshot() == before
    assert not any(p.name.startswith("x.") for p in Path("/tmp").iterdir())


@pytest.mark.parametrize("path", ["/api/threads/..%2F..%2Fetc%2Fpasswd", "/api/threads/%2Fetc%2Fpasswd",
                                  "/api/threads/.hidden", "/api/patients/..%2Fmimir.db/timeline"])
def test_path_parameters_pass_the_allow_list(two: Two, path: str) -> None:
    assert two.client.get(path).status_code in (404, 422)


def test_unknown_thread_is_not_created_from_a_request(two: Two) -> None:
    before = two.snapshot()
    r = two.client.post("/api/ask", json={"question": "Is it larger?", "image_ids": [two.a1], "thread_id": "mine"})
    assert r.status_code == 404 and "Unknown thread" in r.json()["detail"]
    assert two.snapshot() == before


# 2. Results attached to the wrong patient -------------------------------------------------------

def test_question_mixing_two_patients_is_refused_and_writes_nothing(two: Two) -> None:
    before = two.snapshot()
    for body in ({"question": "Has it grown?", "image_ids": [two.a1, two.b], "patient_id": "1CT1"},
                 {"question": "Has it grown?", "image_ids": [two.a1, two.b]},
                 {"question": "Has it grown?", "image_ids": [two.b], "patient_id": "1CT1"},
                 {"question": "Has it grown?", "case": {"images": [{"image_id": two.a1}, {"image_id": two.b}]}}):
        r = two.client.post("/api/ask", json=body)
        assert r.status_code == 409, (body, r.text)
        assert "patient" in r.json()["detail"]
    assert two.snapshot() == before


def test_unknown_patient_or_image_is_404(two: Two) -> None:
    assert two.client.post("/api/ask", json={"question": "q", "image_ids": [two.a1], "patient_id": "NOPE"}).status_code == 404
    assert two.client.post("/api/ask", json={"question": "q", "image_ids": [10**9]}).status_code == 404


def test_thread_of_one_patient_cannot_take_another_patients_question(two: Two) -> None:
    from mimir.domain import Case, CaseImage

    thread = two.service.reviews.open(None, Case(question="q", images=[CaseImage(path="x", image_id=two.b)],
                                                 patient_id="4MR1"))
    before = two.snapshot()
    r = two.client.post("/api/ask", json={"question": "Is it larger?", "image_ids": [two.a1], "thread_id": thread})
    assert r.status_code == 409 and "another patient" in r.json()["detail"]
    assert two.snapshot() == before
    assert two.client.get(f"/api/threads/{thread}").json()["events"] == []


def test_overlay_of_another_patients_run_is_refused(two: Two) -> None:
    mask = two.settings.artifacts_dir / "b-mask.nii.gz"
    mask.write_bytes(b"")
    with two.service.db.session() as s:
        b_img = s.get(Image, two.b)
        run = ToolRun(tool="segment", version="1", cache_key="b-run", input_hashes=[b_img.content_hash],
                      arguments={}, output={}, artifacts=[str(mask)], duration_s=0.0, status="ok",
                      patient_id=b_img.series.study.patient_id)
        s.add(run)
        s.flush()
        run_id = run.id
    r = two.client.get(f"/api/images/{two.a1}/view", params={"tool_run_id": run_id})
    assert r.status_code == 409 and "another patient" in r.json()["detail"]
    with two.service.db.session() as s:  # same patient, other image: still refused
        s.get(ToolRun, run_id).patient_id = s.get(Image, two.a1).series.study.patient_id
        s.get(ToolRun, run_id).input_hashes = [s.get(Image, two.a2).content_hash]
    r = two.client.get(f"/api/images/{two.a1}/view", params={"tool_run_id": run_id})
    assert r.status_code == 409 and "not made on image" in r.json()["detail"]
    assert two.client.get(f"/api/images/{two.a1}/view", params={"tool_run_id": 10**9}).status_code == 404


# 2b. The database refuses the same combinations (SQLite and PostgreSQL) --------------------------

pytest_plugins = ["fixtures.memory_postgres"]  # the db fixture: SQLite and a throw-away PostgreSQL server


def _two_patients(s) -> tuple[object, object, object, object]:  # noqa: ANN001 - a Session
    from mimir.memory.models import Patient, Series, Study

    out = []
    for key in ("A", "B"):
        st = Study(patient=Patient(patient_key=key), study_uid=f"{key}.1", modality="MR")
        img = Image(content_hash=key * 64, storage_path=f"/{key}", file_format="png")
        st.series.append(Series(series_uid=f"{key}.1.1", images=[img]))
        s.add(st)
        out += [st, img]
    s.flush()
    return tuple(out)  # type: ignore[return-value]


def test_database_refuses_a_finding_on_another_patients_study(db) -> None:  # noqa: ANN001
    from sqlalchemy.exc import IntegrityError

    with db.session() as s:
        st_a, img_a, st_b, img_b = _two_patients(s)
        s.add(Finding(patient_id=st_a.patient_id, study_id=st_a.id, label="ok", images=[img_a]))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Finding(patient_id=st_a.patient_id, study_id=st_b.id, label="wrong study"))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Finding(patient_id=st_a.patient_id, study_id=st_a.id, label="wrong image", images=[s.get(Image, img_b.id)]))
    with db.session() as s:
        assert [f.label for f in s.scalars(select(Finding))] == ["ok"]


def test_database_binds_a_review_thread_to_one_patient(db) -> None:  # noqa: ANN001
    from sqlalchemy.exc import IntegrityError

    with db.session() as s:
        st_a, img_a, _, img_b = _two_patients(s)
        s.add(ReviewThread(thread_key="t1", patient_id=st_a.patient_id, question="q", case={}, images=[img_a]))
    with pytest.raises(IntegrityError), db.session() as s:
        t = s.scalar(select(ReviewThread))
        t.images.append(s.get(Image, img_b.id))
    with pytest.raises(IntegrityError), db.session() as s:  # an anonymous thread takes no timeline image
        s.add(ReviewThread(thread_key="t2", patient_id=None, question="q", case={}, images=[s.get(Image, img_b.id)]))


def test_migration_keeps_existing_rows(db) -> None:  # noqa: ANN001
    """0001 -> head on a timeline with findings: nothing lost (SQLite rebuilds `findings`)."""
    from alembic import command
    from sqlalchemy import inspect, text

    from mimir.memory.db import alembic_config

    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:  # the fixture migrated to head: go back down first
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "review_threads" not in inspect(db.engine).get_table_names()
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO patients (id, patient_key) VALUES (1, 'A')"))
        c.execute(text("INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's')"))
        c.execute(text("INSERT INTO series (id, study_id, series_uid) VALUES (1, 1, 'se')"))
        c.execute(text("INSERT INTO images (id, series_id, content_hash, storage_path, file_format) "
                       "VALUES (1, 1, 'h', '/x', 'png')"))
        c.execute(text("INSERT INTO findings (id, patient_id, study_id, label) VALUES (1, 1, 1, 'lesion')"))
        c.execute(text("INSERT INTO finding_images (finding_id, image_id) VALUES (1, 1)"))
    db.upgrade()
    with db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM finding_images")).scalar() == 1
        assert c.execute(text("SELECT label FROM findings")).scalar() == "lesion"
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"


# 3. Database download, Host and Origin ----------------------------------------------------------

@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui") / "data").ensure_dirs()
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client, settings


def test_review_screen_serves_only_its_public_folder(ui: tuple[TestClient, Settings]) -> None:
    client, settings = ui
    service = client.app.state.service
    (settings.storage_dir / "scan.dcm").write_bytes(CT)
    (service.staging_dir / "upload.dcm").write_bytes(CT)
    for secret in (settings.data_dir / "mimir.db", settings.data_dir / "threads.sqlite",
                   settings.storage_dir / "scan.dcm", service.staging_dir / "upload.dcm", Path("/etc/hostname")):
        secret.touch()
        r = client.get(f"/gradio_api/file={secret}")
        assert r.status_code == 403, (secret, r.status_code)
        assert b"SQLite" not in r.content
    public = service.public_dir / "exports" / "review-x.zip"
    public.parent.mkdir(exist_ok=True)
    public.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    assert client.get(f"/gradio_api/file={public}").status_code == 200


def test_host_header_must_be_a_configured_name(ui: tuple[TestClient, Settings], tmp_path: Path) -> None:
    client, _ = ui
    for host in ("evil.example", "evil.example:7860", "127.0.0.1.nip.io"):
        assert client.get("/api/patients", headers={"Host": host}).status_code == 400
    assert client.get("/api/patients", headers={"Host": "localhost:7860"}).status_code == 200
    settings = Settings(data_dir=tmp_path / "d", allowed_hosts=["mimir.example.org"]).ensure_dirs()
    named = TestClient(create_app(settings, with_ui=False), base_url="https://mimir.example.org")
    assert named.get("/api/patients").status_code == 200
    assert named.get("/api/patients", headers={"Host": "other.example.org"}).status_code == 400


CROSS_SITE = [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "http://127.0.0.1:9999"},
              {"Referer": "http://evil.example/form.html"}, {"Sec-Fetch-Site": "cross-site"}]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_cross_site_requests_change_nothing(two: Two, headers: dict[str, str]) -> None:
    before = two.snapshot()
    forged = [("files", ("forged.dcm", _second_ct()))]
    assert two.client.post("/api/ingest", files=forged, headers=headers).status_code == 403
    ask = {"question": "Has it grown?", "image_ids": [two.a1]}
    assert two.client.post("/api/ask", json=ask, headers=headers).status_code == 403
    assert two.snapshot() == before


def test_cross_site_is_refused_with_a_token_too(tmp_path: Path) -> None:
    token = "t" * 32
    client = TestClient(create_app(Settings(data_dir=tmp_path / "d", auth_token=token).ensure_dirs(), with_ui=False),
                        base_url="http://127.0.0.1")
    auth = {"Authorization": f"Bearer {token}"}
    r = client.post("/api/ingest", files=[("files", ("a.dcm", CT))], headers={**auth, "Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/api/ingest", files=[("files", ("a.dcm", CT))], headers={**auth, "Origin": "http://127.0.0.1"})
    assert r.status_code == 200


def test_gradio_config_is_not_readable_cross_origin(ui: tuple[TestClient, Settings]) -> None:
    client, _ = ui
    r = client.get("/config", headers={"Origin": "http://localhost:9999"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = client.options("/config", headers={"Origin": "http://localhost:9999", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 403 and "access-control-allow-credentials" not in r.headers
    assert client.get("/config").status_code == 200


# 8. Hardening -----------------------------------------------------------------------------------

def test_docs_and_schema_need_the_token(tmp_path: Path) -> None:
    token = "d" * 32
    client = TestClient(create_app(Settings(data_dir=tmp_path / "d", auth_token=token).ensure_dirs(), with_ui=False),
                        base_url="http://127.0.0.1")
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert client.get(path).status_code in (401, 404), path
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/openapi.json", headers=auth).json()["info"]["title"] == "mimir"
    assert client.get("/docs", headers=auth).status_code == 200


def test_short_tokens_are_refused(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(data_dir=tmp_path, auth_token="s3cret")


def test_error_bodies_are_bounded_and_do_not_echo_input(two: Two) -> None:
    r = two.client.post("/api/ask", json={"question": "x" * (20 * 2**20), "image_ids": [two.a1]})
    assert r.status_code == 413 and len(r.content) < 1000
    r = two.client.post("/api/ask", json={"question": "y" * 900_000, "image_ids": [two.a1]})
    assert r.status_code == 422 and len(r.content) < 2000 and "yyyy" not in r.text
    r = two.client.post("/api/ask", json={"question": "q", "image_ids": ["z" * 1000] * 16, "bad": ["z" * 1000] * 100})
    assert r.status_code == 422 and len(r.content) < 6000 and "zzzz" not in r.text


def test_access_log_names_routes_not_patients(two: Two, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="mimir.access"):
        assert two.client.get("/api/patients/1CT1/timeline").status_code == 200
        assert two.client.get("/api/patients", params={"q": "1CT1"}).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "mimir.access"]
    assert any("/api/patients/{patient_key}/timeline 200" in line for line in lines), lines
    assert not any("1CT1" in line for line in lines), lines


def test_files_are_private(two: Two) -> None:
    import stat

    paths = [two.settings.data_dir, *two.settings.data_dir.rglob("*")]
    assert any(p.name == "mimir.db" for p in paths) and any(p.suffix == ".dcm" for p in paths)
    loose = [(str(p), oct(stat.S_IMODE(p.stat().st_mode))) for p in paths if p.stat().st_mode & 0o077]
    assert loose == []


# 4. Size limits: bombs refused while streaming, on decompressed bytes -----------------------------

def _zip(members: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (the pixels would only be decoded later)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")


def _nifti(shape: tuple[int, ...], *, gz: bool = True, data: bool = True) -> bytes:
    """A NIfTI-1 file of zeros (or its header alone, claiming ``shape``)."""
    import gzip

    import nibabel as nib
    import numpy as np

    hdr = nib.Nifti1Header()
    hdr.set_data_shape(shape)
    hdr.set_data_dtype(np.uint8)
    raw = hdr.binaryblock + b"\0" * 4 + (b"\0" * int(np.prod(shape)) if data else b"")
    return gzip.compress(raw, compresslevel=1) if gz else raw


@pytest.fixture
def small(tmp_path: Path) -> TestClient:
    """An app whose uploads may unpack to 1 MB, with 10^6-pixel images and 2*10^6-voxel volumes."""
    settings = Settings(data_dir=tmp_path / "data", upload_max_mb=1, image_max_pixels=10**6,
                        volume_max_voxels=2 * 10**6).ensure_dirs()
    return TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")


def _nothing_kept(client: TestClient) -> None:
    service = client.app.state.service
    assert _files(service.settings.storage_dir) == set() and _files(service.staging_dir) == set()
    with service.db.session() as s:
        assert s.scalar(select(func.count(Image.id))) == 0


BOMBS = {
    # three inner archives of 0.6 MB each: every one under the limit, together over it
    "nested zip": ("bomb.zip", _zip({f"inner{i}.zip": _zip({"a.dcm": b"\0" * 600_000}) for i in range(3)}), 413),
    "zips nested too deep": ("deep.zip", _zip({"1.zip": _zip({"2.zip": _zip({"3.zip": _zip({"x.dcm": CT})})})}), 413),
    "PNG of 14000 x 14000 pixels": ("big.png", _png_header(14000, 14000), 413),
    "NIfTI claiming 2048^3 voxels": ("big.nii.gz", _nifti((2048, 2048, 2048), data=False), 413),
    "NIfTI expanding past the budget": ("fat.nii.gz", _nifti((125, 100, 100)), 413),
    "truncated .nii.gz": ("cut.nii.gz", _nifti((20, 20, 20))[:-40], 400),
    "5-D NIfTI": ("five.nii", _nifti((4, 4, 4, 2, 2), gz=False), 400),
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
    png.write_bytes(_png_header(14000, 14000))
    manifest.write_text("patient,date,modality,path\nP1,2024-01-01,MR,big.png\n")
    settings = Settings(data_dir=tmp_path / "d").ensure_dirs()
    report = ingest_paths(open_database(settings), [png], settings, manifest=manifest)
    assert report.counts["failed"] == 1 and "too large" in report.items[0].reason


def test_cli_ingest_refuses_truncated_and_5d_nifti(tmp_path: Path) -> None:
    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths

    (tmp_path / "cut.nii.gz").write_bytes(_nifti((20, 20, 20))[:-40])
    (tmp_path / "five.nii").write_bytes(_nifti((4, 4, 4, 2, 2), gz=False))
    (tmp_path / "ok.nii.gz").write_bytes(_nifti((8, 8, 8)))
    settings = Settings(data_dir=tmp_path / "d").ensure_dirs()
    report = ingest_paths(open_database(settings), sorted(tmp_path.glob("*.nii*")), settings)
    by_name = {Path(i.path).name: i for i in report.items}
    assert by_name["cut.nii.gz"].status == "failed" and "truncated" in by_name["cut.nii.gz"].reason
    assert by_name["five.nii"].status == "failed" and "5-D" in by_name["five.nii"].reason
    assert by_name["ok.nii.gz"].status == "ingested"


def _serve(app) -> Iterator[tuple[str, int]]:  # noqa: ANN001
    """Serve ``app`` with uvicorn on a free loopback port; yields (host, port)."""
    import threading
    import time

    import uvicorn
    from fixtures.app_server import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=10)


def _response_after(sock, chunks: Iterator[bytes]) -> tuple[bytes, int]:  # noqa: ANN001
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
    for server in _serve(small.app):
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
    small = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")
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
    client = TestClient(create_app(Settings(), with_ui=False), base_url="http://127.0.0.1")
    assert client.app.state.service.settings.data_dir == tmp_path / ".mimir"
    buf = io.BytesIO()
    PILImage.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).save(buf, "PNG")
    manifest = b"patient,date,modality,path\nP-REL,2024-03-01,CR,chest.png\n"
    r = client.post("/api/ingest", files=[("files", ("chest.png", buf.getvalue())), ("files", ("m.csv", manifest))])
    assert r.status_code == 200 and r.json()["counts"]["ingested"] == 1, r.text


# 6. Orphaned copies -----------------------------------------------------------------------------

def _referenced(service) -> set[str]:  # noqa: ANN001
    with service.db.session() as s:
        return {str(Path(p).resolve()) for p in s.scalars(select(Image.storage_path))}


def test_storage_holds_exactly_the_referenced_files(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data").ensure_dirs()
    client = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")
    study = _zip({"a/ct.dcm": CT, "a/mr.dcm": MR, "a/cut.dcm": CT[: len(CT) // 2]})
    good = _zip({"a/ct.dcm": CT, "a/mr.dcm": MR})
    post = lambda files: client.post("/api/ingest", files=[("files", f) for f in files])  # noqa: E731
    assert post([("study.zip", study)]).status_code == 400  # one bad member: nothing kept
    assert post([("good.zip", good)]).json()["counts"] == {"ingested": 2, "skipped": 0, "failed": 0}
    assert post([("good.zip", good)]).json()["counts"] == {"ingested": 0, "skipped": 2, "failed": 0}
    assert post([("ct.dcm", CT), ("again.dcm", CT), ("new.dcm", _second_ct())]).json()["counts"]["ingested"] == 1
    assert post([("slice.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)]).status_code == 400
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="cut.dcm"\r\n\r\n' + CT[:5000]
    r = client.post("/api/ingest", content=part, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 400 and "ended before" in r.text  # the client went away mid-upload
    service = client.app.state.service
    stored = {str(p.resolve()) for p in settings.storage_dir.rglob("*") if p.is_file()}
    assert stored == _referenced(service) and len(stored) == 3
    assert _files(service.staging_dir) == set()

    # A server killed mid-upload leaves a staged upload and a moved, uncommitted file: the next start removes both.
    import os
    import time

    (service.staging_dir / "0123abcd").mkdir()
    (service.staging_dir / "0123abcd" / "incoming-00000").write_bytes(CT)
    orphan = settings.storage_dir / "ab" / ("ab" + "0" * 62 + ".dcm")
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(MR)
    os.utime(orphan, (time.time() - 7200, time.time() - 7200))
    restarted = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")
    assert {str(p.resolve()) for p in settings.storage_dir.rglob("*") if p.is_file()} == stored
    assert _files(restarted.app.state.service.staging_dir) == set()


# 7. Input at fault: 4xx, never 500 --------------------------------------------------------------

def test_a_stored_file_deleted_or_damaged_after_ingest_is_a_4xx(small: TestClient) -> None:
    r = small.post("/api/ingest", files=[("files", ("ct.dcm", CT)), ("files", ("v.nii.gz", _nifti((8, 8, 8))))])
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
