"""End-to-end runs: CLI summaries, refusal on missing images, no leakage, timeouts, kill -9 and resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
import typer
from fixtures.evals_fakes import Recorder
from fixtures.paths import MEDMIM_DIR
from typer.testing import CliRunner

from mimir.evals.cli import register
from mimir.evals.execute import run_local
from mimir.evals.loader import load_file
from mimir.evals.run_store import JSONL, RunStore, read_records

MEDMIM = MEDMIM_DIR
TESTS = Path(__file__).resolve().parent
pytestmark = pytest.mark.skipif(not (MEDMIM / "README.md").is_file(), reason="Med-MIM files not present")


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _expected_chance(path: Path) -> tuple[int, float]:
    """Independent computation: count 'X: ' option lines in each user turn that has a lettered gold."""
    rows = json.loads(path.read_text())
    inv = []
    for r in rows:
        user, gold = r["conversation"][0]["content"], r["conversation"][1]["content"]
        n = sum(1 for line in user.split("\n") if len(line) > 2 and line[0].isupper() and line[1:3] == ": ")
        if n >= 2 and gold[:1].isupper() and gold[1:2] == ":":
            inv.append(1 / n)
    return len(rows), sum(inv) / len(inv)


def test_chance_json_reports_exact_expectation_for_six_subsets(tmp_path):
    res = CliRunner().invoke(_app(), ["eval", "--suite", "medmim", "--medmim-dir", str(MEDMIM), "--runner",
                                      "chance", "--json", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert list(out["subsets"]) == ["temporal", "reasoning", "comparison", "coreference", "odir", "rad"]
    n, expected = _expected_chance(MEDMIM / "Med_MIM_benchmark_Held_in_Temporal.json")
    assert out["subsets"]["temporal"]["n"] == n == 933
    assert out["subsets"]["temporal"]["accuracy"] == pytest.approx(expected, abs=1e-12)
    assert out["subsets"]["reasoning"]["accuracy"] == pytest.approx(1 / 7)
    lo, hi = out["subsets"]["temporal"]["interval"]
    assert lo <= expected <= hi
    assert "temporal" in out["abilities"] and out["abilities"]["other"]["n"] == 966


def test_agent_without_images_refuses_with_count(tmp_path):
    res = CliRunner().invoke(_app(), ["eval", "--suite", "medmim", "--medmim-dir", str(MEDMIM), "--runner",
                                      "agent", "--image-root", str(tmp_path / "none"), "--out", str(tmp_path / "r")])
    assert res.exit_code != 0
    assert "4190 of 4190 items have missing images" in " ".join(res.output.split())
    assert not (tmp_path / "r" / JSONL).exists()


def test_eval_report_subcommand_and_run_subcommand_both_parse(tmp_path):
    app = _app()
    run = CliRunner().invoke(app, ["eval", "run", "--suite", "medmim", "--medmim-dir", str(MEDMIM), "--subset",
                                   "rad", "--limit", "5", "--runner", "blind-first", "--json", "--out", str(tmp_path / "a")])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout.strip().splitlines()[-1])["overall"]["n"] == 5
    rep = CliRunner().invoke(app, ["eval", "report", str(tmp_path / "a"), "--json"])
    assert rep.exit_code == 0, rep.output
    assert any(f.endswith("report.md") for f in json.loads(rep.stdout)["files"])


def _leaky_file(tmp_path: Path) -> tuple[Path, Path]:
    """An item whose image paths carry a patient id, visit weeks and a date, with real PNG files."""
    root = tmp_path / "imgs"
    rels = ["ct1_LUMIERE/Patient-023/slice_120/week_084.png", "ct1_LUMIERE/Patient-023/slice_120/week_097-20191231.png"]
    for rel, src in zip(rels, ["camera.png", "moon.png"], strict=True):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(__import__("skimage").data_dir) / src, root / rel)
    item = {"id": "Lumiere-1805", "images": rels, "source": "LUMIERE_multichoice_typeC_VQA_2024_12_30",
            "conversation": [{"role": "user", "content": "<image><image>Is the tumour progressing or stable?\nA: progressing\nB: stable\n"},
                             {"role": "assistant", "content": "A: progressing"}]}
    f = tmp_path / "Med_MIM_benchmark_Held_in_Temporal.json"
    f.write_text(json.dumps([item]))
    return f, root


def test_runner_sees_no_ids_sources_paths_or_file_names(tmp_path):
    f, root = _leaky_file(tmp_path)
    items = load_file(f, root)
    rec = Recorder()
    with RunStore(tmp_path / "run", {"runner": "recorder"}) as store:
        records = run_local(items, rec, store, concurrency=1, show_progress=False)
    seen = json.dumps(rec.seen)
    forbidden = {p for rel in items[0].images for p in Path(rel).parts} | {"Lumiere-1805", "LUMIERE", "week", str(root)}
    assert not [w for w in forbidden if w in seen], seen
    names = [Path(p).name for p in rec.seen[0]["images"]]
    assert names == ["img_0.png", "img_1.png"]
    assert rec.image_bytes[0] == [(root / r).read_bytes() for r in items[0].images]
    assert set(rec.seen[0]) == {"question", "options", "images", "image_meta", "patient_id"}
    assert records[items[0].key].score == 1.0
    assert not Path(rec.seen[0]["images"][0]).exists()  # staging folder removed afterwards


def test_timeout_becomes_infra_error_and_is_excluded(tmp_path, monkeypatch):
    from fixtures.evals_fakes import SlowRunner

    monkeypatch.setenv("MIMIR_TEST_DELAY", "1.5")
    items = load_file(MEDMIM / "Med_MIM_benchmark_Held_out_RAD.json")[:2]
    with RunStore(tmp_path / "run", {"runner": "slow"}) as store:
        recs = run_local(items, SlowRunner(), store, concurrency=2, timeout_s=0.3, show_progress=False)
    assert {r.status for r in recs.values()} == {"infra_error"}
    assert all("timed out" in (r.error or "") for r in recs.values())


def test_runner_fault_is_stored_as_tool_failed_counted_wrong_and_the_run_goes_on(tmp_path):
    from fixtures.evals_fakes import FaultyRunner

    from mimir.evals.scoring import summarize

    items = load_file(MEDMIM / "Med_MIM_benchmark_Held_out_RAD.json")
    items = [it for it in items if it.closed][:4]
    with RunStore(tmp_path / "run", {"runner": "faulty"}) as store:
        recs = run_local(items, FaultyRunner(), store, concurrency=2, show_progress=False)
    failed = [r for r in recs.values() if r.status == "tool_failed"]
    assert len(recs) == 4 and len(failed) == 2  # every second item raises; the others still ran
    assert all(r.score == 0.0 and "RuntimeError: engine broke" in (r.error or "") for r in failed)
    summary = summarize(list(read_records(tmp_path / "run").values()), "faulty").overall
    assert summary.n_scored == 4 and summary.counts["tool_failed"] == 2


def _closed_items(tmp_path: Path) -> Path:
    """30 closed VQA-RAD items in a Med-MIM-format file (closed only: open scoring loads nltk, slowly)."""
    rows = json.loads((MEDMIM / "Med_MIM_benchmark_Held_out_RAD.json").read_text())
    closed = [r for r in rows if "\nA: " in r["conversation"][0]["content"]][:30]
    f = tmp_path / "Med_MIM_benchmark_Held_out_RAD.json"
    f.write_text(json.dumps(closed))
    return f


def _cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mimir.evals", "eval", "--items", str(out.parent / "Med_MIM_benchmark_Held_out_RAD.json"),
            "--runner", "fixtures.evals_fakes:SlowRunner", "--concurrency", "2", "--json", "--out", str(out), *extra]


def _summary(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data.pop("run_dir")
    return data


def test_kill_9_then_resume_equals_uninterrupted_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(TESTS), "MIMIR_TEST_DELAY": "0.15"}
    _closed_items(tmp_path)
    full = _summary(subprocess.run(_cmd(tmp_path / "full"), env=env, capture_output=True, text=True, timeout=120))
    run = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(run), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if (run / JSONL).exists() and (run / JSONL).read_text().count("\n") >= 8:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    written = (run / JSONL).read_text().count("\n")
    assert 8 <= written < 30
    with (run / JSONL).open("a") as f:
        f.write('{"key": "Med_MIM_benchmark_Held_out_RAD.json#29", "fi')  # a torn line, as a crash can leave
    again = subprocess.run(_cmd(run), env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode != 0 and "--resume" in again.stderr
    resumed = _summary(subprocess.run(_cmd(run, "--resume"), env=env, capture_output=True, text=True, timeout=120))
    assert resumed == full
    lines = [json.loads(x) for x in (run / JSONL).read_text().splitlines()]
    counts: dict[str, int] = defaultdict(int)
    for rec in lines:
        counts[rec["key"]] += 1
    assert len(counts) == 30 and max(counts.values()) == 1  # every item stored exactly once
    assert len(read_records(run)) == 30
    import sqlite3

    with sqlite3.connect(run / "items.sqlite") as db:
        assert db.execute("select count(*), count(distinct key) from items").fetchone() == (30, 30)
