"""``mimir ask`` on the embedded defaults (stand-in experts registered as a plug-in registry)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from fixtures.agent_cases import CHANGE_OPTIONS, lesion_case
from fixtures.agent_tools import stand_in_registry
from typer.testing import CliRunner

from mimir.agent import cli


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> typer.Typer:
    monkeypatch.setenv("MIMIR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("mimir.tools.build_registry", lambda settings=None, **_: stand_in_registry())
    app = typer.Typer()
    cli.register(app)
    app.command("version")(lambda: None)
    return app


def test_ask_case_json(app: typer.Typer, tmp_path: Path) -> None:
    case = lesion_case(tmp_path, [10, 14], "How has the lesion changed over time on MRI?" + CHANGE_OPTIONS)
    case_file = tmp_path / "case.json"
    case_file.write_text(case.model_dump_json())
    result = CliRunner().invoke(app, ["ask", "--case", str(case_file), "--json"], catch_exceptions=False)
    answer = json.loads(result.stdout)
    tools = [s["tool"] for s in answer["steps"]]
    assert result.exit_code == 0 and answer["letter"] == "A"
    assert sorted(tools[:4]) == ["classify", "classify", "segment", "segment"] and tools[4:] == ["compare"]


def test_ask_images_live_events(app: typer.Typer, tmp_path: Path) -> None:
    case = lesion_case(tmp_path, [6, 6], "x", sequences=["FLAIR", "T2"])
    q = "Which image is the FLAIR sequence?\nA: the first image\nB: the second image"
    result = CliRunner().invoke(app, ["ask", "--images", *[i.path for i in case.images], q], catch_exceptions=False)
    out = result.stdout
    assert result.exit_code == 0
    assert "> intake" in out and "- classify" in out and "+ classify ok" in out
    assert "A: the first image" in out and "status: ok" in out


def test_ask_interrupt_prompts_for_a_choice(app: typer.Typer, tmp_path: Path) -> None:
    case = lesion_case(tmp_path, [6, 6], "x", sequences=["T1", "T2"])
    q = "Which sequence is the other image?\nA: T1\nB: T2"
    result = CliRunner().invoke(app, ["ask", "--images", *[i.path for i in case.images], q], input="1\n",
                                catch_exceptions=False)
    assert "is ambiguous" in result.stdout and "B: T2" in result.stdout


def test_ask_unknown_image_fails_clearly(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["ask", "--images", "nope.png", "q?"])
    assert result.exit_code == 2 and "neither a file nor a timeline image id" in result.output
