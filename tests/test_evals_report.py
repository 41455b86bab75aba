"""Reports (Markdown, CSV, PNG) over two runs side by side, and diffs between runs."""

from __future__ import annotations

import csv
import json

import pytest
import typer
from fixtures.evals_fakes import LastOption
from fixtures.paths import MEDMIM_DIR
from PIL import Image
from typer.testing import CliRunner

from mimir.evals.cli import register
from mimir.evals.execute import run_local
from mimir.evals.loader import load_file
from mimir.evals.report import diff_runs, write_report
from mimir.evals.run_store import RunStore
from mimir.evals.runners.baselines import BlindFirstRunner

MEDMIM = MEDMIM_DIR
pytestmark = pytest.mark.skipif(not (MEDMIM / "README.md").is_file(), reason="Med-MIM files not present")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    items = [it for it in load_file(MEDMIM / "Med_MIM_benchmark_Held_out_ODIR.json") if it.closed][:40]
    items += [it for it in load_file(MEDMIM / "Med_MIM_benchmark_Held_in_Reasoning.json") if it.closed][:40]
    for name, runner in (("first", BlindFirstRunner()), ("last", LastOption())):
        with RunStore(tmp / name, {"runner": runner.name}) as store:
            run_local(items, runner, store, show_progress=False)
    return tmp, items


def test_report_writes_markdown_csv_and_pngs(two_runs):
    tmp, _ = two_runs
    files = write_report([tmp / "first", tmp / "last"], tmp / "report")
    names = {f.name for f in files}
    assert names == {"report.md", "report.csv", "accuracy_by_subset.png", "accuracy_by_options.png", "latency.png"}
    md = (tmp / "report" / "report.md").read_text()
    assert "blind-first (first)" in md and "last-option (last)" in md and "| odir |" in md
    rows = list(csv.DictReader((tmp / "report" / "report.csv").open()))
    odir = {r["run"]: r for r in rows if r["group_kind"] == "subset" and r["group"] == "odir"}
    assert len(odir) == 2 and float(odir["blind-first (first)"]["ci_low"]) <= float(odir["blind-first (first)"]["accuracy"])
    for f in files:
        if f.suffix == ".png":
            with Image.open(f) as im:
                assert im.size[0] > 300 and im.size[1] > 200


def test_diff_lists_items_whose_correctness_changed(two_runs):
    tmp, items = two_runs
    changes = diff_runs(tmp / "first", tmp / "last")
    last = {it.key: sorted(it.options)[-1] for it in items}
    expected = {it.key for it in items if (it.gold_letter == "A") != (it.gold_letter == last[it.key])}
    assert {c.key for c in changes} == expected and expected
    assert all((c.a_correct, c.b_correct) in ((True, False), (False, True)) for c in changes)
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["eval", "diff", str(tmp / "first"), str(tmp / "last"), "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)) == len(expected)
    human = CliRunner().invoke(app, ["eval", "diff", str(tmp / "first"), str(tmp / "last")])
    assert f"{len(expected)} items changed" in human.stdout
