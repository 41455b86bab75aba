"""The review API's PACS routes refuse what they cannot do, before touching anything (no PACS needed)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from mimir.app.server import create_app
from mimir.settings import PacsSettings, Settings


def test_pacs_routes_check_their_input_and_the_configuration(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path / "d").ensure_dirs(), with_ui=False), base_url="http://127.0.0.1")
    r = client.post("/api/patients/P7/pacs-pull")
    assert r.status_code == 409 and "No PACS configured" in r.json()["detail"]
    assert client.post('/api/patients/P7"x/pacs-pull').status_code == 422
    assert client.post("/api/threads/nope/dicom").status_code == 404
    assert client.post("/api/threads/..%2Fetc/dicom").status_code in (404, 422)
    assert client.post("/api/threads/a%00b/dicom").status_code == 422


def test_pull_from_a_pacs_that_is_down_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(data_dir=tmp_path / "d", pacs=PacsSettings(url=f"http://127.0.0.1:{port}/dicom-web")).ensure_dirs()
    r = TestClient(create_app(settings, with_ui=False), base_url="http://127.0.0.1").post("/api/patients/P7/pacs-pull")
    assert r.status_code == 502 and "Cannot reach the DICOMweb server" in r.json()["detail"]
