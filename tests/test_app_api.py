"""The HTTP API against its own OpenAPI spec (schemathesis), plus the bind and token rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from mimir.app.security import check_bind
from mimir.app.server import create_app
from mimir.settings import Settings

# schemathesis's ASGI client calls the app by the name "testserver": a configured host name here.
_settings = Settings(data_dir=Path(__import__("tempfile").mkdtemp(prefix="mimir-api-")), allowed_hosts=["testserver"])
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_settings.ensure_dirs(), with_ui=False))


@schema.parametrize()
@hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_spec(case) -> None:  # schemathesis Case
    excluded = []
    if case.path == "/api/ingest":
        # OpenAPI can say "a binary file" but not "a DICOM/NIfTI/PNG file": random bytes are
        # schema-valid and rightly refused with 400, so that one check does not apply here.
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)


def test_refuses_to_listen_off_loopback_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="MIMIR_AUTH_TOKEN"):
        check_bind(Settings(data_dir=tmp_path, host="0.0.0.0"))
    check_bind(Settings(data_dir=tmp_path, host="0.0.0.0", auth_token="a-token-of-24-characters"))
    check_bind(Settings(data_dir=tmp_path, host="127.0.0.1"))


def test_token_is_required_when_configured(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auth_token="a-token-of-24-characters").ensure_dirs()
    client = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")
    assert client.get("/api/patients").status_code == 401
    assert client.get("/api/patients", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/patients", headers={"Authorization": "Bearer a-token-of-24-characters"}).status_code == 200


def test_case_paths_are_refused_inside_and_outside_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d").ensure_dirs()
    client = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")
    for path in ("/etc/passwd", str(settings.data_dir / "mimir.db")):
        r = client.post("/api/ask", json={"question": "Is it larger?", "case": {"images": [{"path": path}]}})
        assert r.status_code == 422, r.text
        assert path not in r.text  # the refusal does not echo the request


def test_a_patient_question_needs_no_image_ids(tmp_path: Path) -> None:
    import json

    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths

    settings = Settings(data_dir=tmp_path / "d").ensure_dirs()
    png = tmp_path / "scan.png"
    __import__("PIL.Image", fromlist=["Image"]).fromarray(__import__("numpy").zeros((16, 16), "uint8")).save(png)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{"path": str(png), "patient_id": "P-ONE", "date": "2024-01-01", "modality": "MR"}]))
    ingest_paths(open_database(settings), [png], settings, manifest=manifest)
    client = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1")
    question = "Has the tumour grown since the prior study?"
    assert client.post("/api/ask", json={"question": question, "patient_id": "NOBODY"}).status_code == 404
    r = client.post("/api/ask", json={"question": question, "patient_id": "P-ONE"})
    assert r.status_code == 200
    answer = [line for line in r.text.splitlines() if line.startswith("data:") and '"answer"' in line][-1]
    assert '"status":"abstained"' in answer and "no prior study" in answer
