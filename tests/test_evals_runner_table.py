"""One runner table: the CLI, the run and docs/evals.md all follow mimir.evals.runners.RUNNERS."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mimir.evals.runners import (
    RUNNERS,
    RunnerConfig,
    RunnerConfigError,
    RunnerEntry,
    make_runner,
    needs_images,
)
from mimir.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "evals.md"


def _docs_rows() -> list[tuple[str, str, bool]]:
    rows = re.findall(r"^\s*\| `([\w-]+)` \| `([\w.]+)` \| (yes|no) \|", DOCS.read_text(), re.MULTILINE)
    return [(name, cls, flag == "yes") for name, cls, flag in rows]


def test_docs_table_lists_every_runner_with_its_class_and_image_needs() -> None:
    table = [(r.name, f"mimir.evals.runners.{r.target.replace(':', '.')}", r.needs_images) for r in RUNNERS]
    assert _docs_rows() == table


@pytest.mark.parametrize("entry", RUNNERS, ids=lambda e: e.name)
def test_each_entry_names_a_runner_class_that_agrees_with_it(entry: RunnerEntry) -> None:
    module, _, attr = entry.target.partition(":")
    cls = getattr(importlib.import_module(f"mimir.evals.runners.{module}"), attr)
    assert cls.name == entry.name and cls.needs_images is entry.needs_images
    assert needs_images(entry.name) is entry.needs_images


def test_baselines_build_from_the_table(settings: Settings) -> None:
    for name in ("chance", "blind-first"):
        runner = make_runner(settings, RunnerConfig(name=name))
        assert runner.name == name and runner.needs_images is False


def test_unknown_runner_lists_the_table(settings: Settings) -> None:
    with pytest.raises(RunnerConfigError, match="choose one of agent, direct, decomposed, chance, blind-first, "
                                                "blind-text or package.module:attr"):
        make_runner(settings, RunnerConfig(name="oracle"))
    assert needs_images("package.module:attr") is None


def test_cli_help_and_error_name_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mimir.cli import _register_all, app

    monkeypatch.setenv("MIMIR_DATA_DIR", str(tmp_path / "data"))
    _register_all()
    monkeypatch.setenv("COLUMNS", "400")  # one line per option in rich's help box
    help_text = " ".join(CliRunner().invoke(app, ["eval", "--help"]).output.split())
    assert "agent, direct, decomposed, chance, blind-first, blind-text or package.module:attr" in help_text
    res = CliRunner().invoke(app, ["eval", "--items", str(tmp_path / "none.json"), "--runner", "oracle",
                                   "--out", str(tmp_path / "run")])
    assert res.exit_code != 0 and "Unknown runner 'oracle'" in " ".join(res.output.split())
