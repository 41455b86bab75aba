"""``mimir index build|status`` on a timeline, with image vectors from the thumbnail embedder."""

from __future__ import annotations

import json
from datetime import date

import pytest
import typer
from typer.testing import CliRunner

from mimir.memory.db import open_database
from mimir.memory.models import Patient
from mimir.tools.retrieval.cli import register
from tests.fixtures.retrieval_timeline import add_study, build_timeline


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """mimir (test shell)."""

    register(root)
    return root


def test_index_build_then_status_reports_staleness_and_why(app, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("MIMIR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MIMIR_RETRIEVAL_IMAGE_EMBEDDER", "thumbnail")
    db = open_database(settings)
    with db.session() as s:
        build_timeline(s, tmp_path / "pictures")
    runner = CliRunner()

    before = json.loads(runner.invoke(app, ["index", "status", "--json"]).stdout)
    assert before["state"] == "missing" and before["stale"] and "no index" in before["reason"]

    built = runner.invoke(app, ["index", "build", "--json"])
    assert built.exit_code == 0, built.output
    out = json.loads(built.stdout)
    assert out["entries"] == 11
    assert out["spaces"]["image:thumbnail16"]["vectors"] == 11 and out["spaces"]["image:thumbnail16"]["dim"] == 256

    ready = json.loads(runner.invoke(app, ["index", "status", "--json"]).stdout)
    assert ready["state"] == "ready" and not ready["stale"] and ready["fingerprint"]["studies"][0] == 11

    with db.session() as s:
        patients = {p.patient_key: p for p in s.query(Patient)}
        add_study(s, tmp_path / "pictures", patients,
                  ("P2", date(2021, 5, 5), "MR", "BRAIN", "MRI brain", "Stable.", 6.0, "camera"))
    stale = json.loads(runner.invoke(app, ["index", "status", "--json"]).stdout)
    assert stale["state"] == "stale" and stale["stale"] and "studies (count 11->12" in stale["reason"]
    db.dispose()
