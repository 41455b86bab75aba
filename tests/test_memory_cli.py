"""The timeline commands: ingest, resolve, db upgrade, timeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from pydicom.data import get_testdata_file
from typer.testing import CliRunner

from mimir.memory.cli import register


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("MIMIR_DATA_DIR", str(tmp_path / "data"))
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Root."""

    register(app)
    return app


def test_ingest_then_timeline(cli: typer.Typer, tmp_path: Path) -> None:
    junk = tmp_path / "junk.dcm"
    junk.write_text("not dicom")
    runner = CliRunner()
    r = runner.invoke(cli, ["ingest", get_testdata_file("CT_small.dcm"), str(junk), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["counts"] == {"ingested": 1, "skipped": 1, "failed": 0}
    r = runner.invoke(cli, ["timeline", "1CT1", "--json"])
    assert json.loads(r.stdout)["studies"][0]["modality"] == "CT"
    r = runner.invoke(cli, ["ingest", get_testdata_file("CT_small.dcm")])
    assert "already ingested" in r.stdout and "0 ingested, 1 skipped" in r.stdout
    r = runner.invoke(cli, ["timeline", "nobody"])
    assert r.exit_code == 2


def test_db_upgrade_creates_the_database(cli: typer.Typer, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "data" / "mimir.db").is_file()


def test_resolve_prints_the_documented_json(cli: typer.Typer, tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"question": "Is the second image worse than the prior?\nA: yes\nB: no",
                                "images": [{"path": "a.png", "study_date": "2024-01-01"},
                                           {"path": "b.png", "study_date": "2024-06-01"}]}))
    r = CliRunner().invoke(cli, ["resolve", "--case", str(case), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["ambiguous"] is False
    assert [(b["mention"], b["image_indices"]) for b in out["bindings"]] == [("the second image", [1]), ("the prior", [0])]
    assert all(0 <= b["confidence"] <= 1 for b in out["bindings"])
