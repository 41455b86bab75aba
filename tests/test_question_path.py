"""docs/architecture.md's "path of one question" is the path the code takes.

A real ``mimir ask`` (rules planner, mimir's shipped experts) about a freshly built demo patient
runs under a trace hook (``fixtures/call_order.py``). The files the document names as steps must
run in the documented order, each helper it names must run, and every file of mimir that runs once
the ``Agent`` is built must be named, so a step added to the code without a line in the document
(or a line left for a step that is gone) fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mimir.settings import Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
QUESTION = "Has the tumour grown since the prior study?"
ROW = re.compile(r"^\| *(\d+) *\| *`([\w/]+\.py)` *\| *`([\w.<>]+)` *\|", re.M)


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start:end if end > 0 else None]


def documented_path() -> list[tuple[str, str]]:
    rows = ROW.findall(_section("## The path of one question").split("### Helpers")[0])
    assert [int(n) for n, _, _ in rows] == list(range(1, len(rows) + 1))
    return [(file, function) for _, file, function in rows]


def documented_helpers() -> set[str]:
    return set(re.findall(r"`([\w/]+\.py)`", _section("### Helpers along the path")))


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list[tuple[str, str]]]:
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions
    from mimir.memory.db import open_database
    from mimir.memory.ingest.demo import load_demo

    out = tmp_path_factory.mktemp("path")
    build_demo(out / "demo", patients=1, seed=2026, workers=1,
               opts=BuildOptions(series=False, nifti=False, kinds=("mri",)))
    settings = Settings(data_dir=out / "data").ensure_dirs()
    db = open_database(settings)
    try:
        load_demo(db, out / "demo", settings)
    finally:
        db.dispose()
    patient = (out / "demo" / "manifest.csv").read_text().splitlines()[1].split(",")[0]
    order = out / "order.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fixtures" / "call_order.py"), str(order), str(ROOT),
         "ask", "--patient", patient, "--planner", "rules", "--json", QUESTION],
        capture_output=True, text=True, timeout=600, cwd=out,
        env={**os.environ, "MIMIR_DATA_DIR": str(out / "data"), "MIMIR_PLANNER": "rules"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout), [(f, q) for f, q in json.loads(order.read_text())]


def test_the_traced_question_is_answered_by_the_experts(traced: tuple[dict, list[tuple[str, str]]]) -> None:
    answer, _ = traced
    assert answer["status"] == "ok" and answer["ability"] == "temporal", answer
    assert [s["tool"] for s in answer["steps"]] == ["segment", "segment", "compare"]
    assert any("study_date" in e["values"] for e in answer["evidence"])


def test_the_documented_path_runs_in_the_documented_order(traced: tuple[dict, list[tuple[str, str]]]) -> None:
    _, calls = traced
    path = documented_path()
    files = [f for f, _ in path]
    assert 10 <= len(files) <= 15 and len(set(files)) == len(files)
    first = {call: i for i, call in reversed(list(enumerate(calls)))}
    missing = [step for step in path if step not in first]
    assert missing == [], f"documented but never called: {missing}"
    order = [first[step] for step in path]
    assert order == sorted(order), [step for _, step in sorted(zip(order, path, strict=True))]


def test_every_file_that_runs_is_documented(traced: tuple[dict, list[tuple[str, str]]]) -> None:
    _, calls = traced
    start = calls.index(("agent/entry.py", "Agent.__init__"))
    ran = {f for f, _ in calls[start:]}
    steps, helpers = {f for f, _ in documented_path()}, documented_helpers()
    assert sorted(steps & helpers) == []
    assert sorted(helpers - ran) == [], "named as helpers but never run"
    assert sorted(ran - steps - helpers) == [], "ran on the path but the document does not name them"
