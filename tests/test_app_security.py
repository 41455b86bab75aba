"""The review server as an attacker and a careless client would use it: each defect once found, refused now.

Two patients from pydicom's real test files (CT_small: patient 1CT1, two images; MR_small: patient
4MR1) are ingested through the API; every refused request must change nothing on disk or in the
timeline. Uploads, limits and storage are in test_app_security_uploads.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixtures.app_security import CT, MR, files_under, second_ct
from sqlalchemy import func, select

from mimir.app.server import create_app
from mimir.memory.models import Finding, Image, ReviewEvent, ReviewThread, ToolRun
from mimir.settings import Settings

pytest_plugins = ["fixtures.memory_postgres"]  # the db fixture: SQLite and a throw-away PostgreSQL server


class Two:
    """The app over two patients: A (1CT1) with images a1, a2 and B (4MR1) with image b."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings = Settings(data_dir=root / "data").ensure_dirs()
        self.client = TestClient(create_app(self.settings, with_ui=False), base_url="http://127.0.0.1")
        r = self.client.post("/api/ingest", files=[("files", ("a1.dcm", CT)), ("files", ("a2.dcm", second_ct())),
                                                   ("files", ("b.dcm", MR))])
        assert r.status_code == 200 and r.json()["counts"]["ingested"] == 3, r.text
        self.a1, self.a2, self.b = (i["image_id"] for i in r.json()["items"])
        self.service = self.client.app.state.service

    def counts(self) -> dict[str, int]:
        with self.service.db.session() as s:
            return {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in
                    (Finding, ReviewThread, ReviewEvent, ToolRun, Image)}

    def snapshot(self) -> tuple[dict[str, int], set[str]]:
        return self.counts(), files_under(self.root)


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
    routes = ("view", "mask.nii")  # the picture with its mask, and the mask as a volume for the viewer
    for route in routes:
        r = two.client.get(f"/api/images/{two.a1}/{route}", params={"tool_run_id": run_id})
        assert r.status_code == 409 and "another patient" in r.json()["detail"], route
    with two.service.db.session() as s:  # same patient, other image: still refused
        s.get(ToolRun, run_id).patient_id = s.get(Image, two.a1).series.study.patient_id
        s.get(ToolRun, run_id).input_hashes = [s.get(Image, two.a2).content_hash]
    for route in routes:
        r = two.client.get(f"/api/images/{two.a1}/{route}", params={"tool_run_id": run_id})
        assert r.status_code == 409 and "not made on image" in r.json()["detail"], route
        assert two.client.get(f"/api/images/{two.a1}/{route}", params={"tool_run_id": 10**9}).status_code == 404
    assert two.client.get(f"/api/images/{10**9}/volume.nii").status_code == 404


# 2b. The database refuses the same combinations (SQLite and PostgreSQL) --------------------------

def _two_patients(s) -> tuple[object, object, object, object]:  # a Session
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


def test_database_refuses_a_finding_on_another_patients_study(db) -> None:
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


def test_database_binds_a_review_thread_to_one_patient(db) -> None:
    from sqlalchemy.exc import IntegrityError

    with db.session() as s:
        st_a, img_a, _, img_b = _two_patients(s)
        s.add(ReviewThread(thread_key="t1", patient_id=st_a.patient_id, question="q", case={}, images=[img_a]))
    with pytest.raises(IntegrityError), db.session() as s:
        t = s.scalar(select(ReviewThread))
        t.images.append(s.get(Image, img_b.id))
    with pytest.raises(IntegrityError), db.session() as s:  # an anonymous thread takes no timeline image
        s.add(ReviewThread(thread_key="t2", patient_id=None, question="q", case={}, images=[s.get(Image, img_b.id)]))


def test_migration_keeps_existing_rows(db) -> None:
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
    planted = [settings.storage_dir / "scan.dcm", service.staging_dir / "upload.dcm"]
    for p in planted:
        p.write_bytes(CT)
    (settings.data_dir / "threads.sqlite").touch()
    for secret in (settings.data_dir / "mimir.db", settings.data_dir / "threads.sqlite", *planted, Path("/etc/passwd")):
        r = client.get(f"/gradio_api/file={secret}")
        assert r.status_code == 403, (secret, r.status_code)
        assert b"SQLite" not in r.content and b"root:" not in r.content
    public = service.public_dir / "exports" / "review-x.zip"
    public.parent.mkdir(exist_ok=True)
    public.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    assert client.get(f"/gradio_api/file={public}").status_code == 200
    for p in (*planted, public):
        p.unlink()


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
    forged = [("files", ("forged.dcm", second_ct()))]
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


def test_review_screen_uploads_leave_gradios_folder_for_staging(ui: tuple[TestClient, Settings]) -> None:
    from mimir.app.review_view import on_upload

    client, settings = ui
    service = client.app.state.service
    received = service.public_dir / "gradio" / "0f1e2d" / "ct.dcm"  # where Gradio puts an upload
    received.parent.mkdir(parents=True, exist_ok=True)
    received.write_bytes(CT)
    message, _ = on_upload(service, [str(received)], None, lambda *a, **k: None)
    assert message.startswith("Ingested 1,"), message
    assert not received.exists() and files_under(service.staging_dir) == set()
    stored = service.image_path(1)
    assert stored.is_relative_to(settings.storage_dir) and stored.read_bytes() == CT


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
