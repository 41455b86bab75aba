"""Closed CLI choices are typed: a wrong value is refused with the choices, before any work is done."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.mark.parametrize(("args", "said"), [
    (["eval", "--suite", "demo", "--engine", "spark"], "'spark' is not one of 'local', 'ray'"),
    (["eval", "--suite", "paraphrase", "--split", "heldout99"], "'heldout99' is not one of"),
    (["eval", "--suite", "ucsf"], "'ucsf' is not one of 'medmim', 'demo', 'paraphrase'"),
    (["eval", "--suite", "demo", "--memory", "forever"], "'forever' is not one of 'fresh', 'patient'"),
    (["eval", "--suite", "demo", "--runner", "chance", "--kinds", "mri,xr"], "Unknown demo kind(s) xr; choose from mri"),
    (["ask", "--planner", "oracle", "Has it grown?"], "'oracle' is not one of 'rules', 'llm'"),
    (["demo", "build", "--kinds", "pet"], "Unknown demo kind(s) pet"),
])
def test_wrong_choice_is_refused_with_the_choices(args: list[str], said: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from mimir.cli import _register_all, app

    monkeypatch.setenv("MIMIR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.chdir(tmp_path)
    _register_all()
    res = CliRunner().invoke(app, args + (["--out", str(tmp_path / "out")] if args[0] in ("eval", "demo") else []))
    assert res.exit_code == 2
    assert said in " ".join(res.output.replace("│", " ").split())
    assert not (tmp_path / "out").exists() and not (tmp_path / "data").exists()
