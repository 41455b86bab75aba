"""Runners against a local OpenAI-compatible server: direct (joint) VLM, blind-text, and the judge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.evals_server import chat_server

from mimir.evals.execute import run_local
from mimir.evals.judge import Judge
from mimir.evals.loader import load_file
from mimir.evals.run_store import RunStore
from mimir.evals.runners import RunnerConfig, RunnerConfigError, make_runner
from mimir.settings import VLMEndpoint


def _items(tmp_path: Path) -> Path:
    root = tmp_path / "imgs"
    rels = ["Patient-023/week_084.png", "Patient-023/week_097.png"]
    for rel, src in zip(rels, ["camera.png", "moon.png"], strict=True):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(__import__("skimage").data_dir) / src, root / rel)
    rows = [
        {"id": "Lumiere-9", "images": rels, "source": "LUMIERE_x",
         "conversation": [{"role": "user", "content": "<image><image>Progressing or stable?\nA: progressing\nB: stable\n"},
                          {"role": "assistant", "content": "B: stable"}]},
        {"id": "Lumiere-9", "images": rels, "source": "LUMIERE_x",
         "conversation": [{"role": "user", "content": "<image><image>Describe the change."},
                          {"role": "assistant", "content": "The tumour is stable."}]},
    ]
    f = tmp_path / "Med_MIM_benchmark_Held_in_Temporal.json"
    f.write_text(json.dumps(rows))
    return f


def test_direct_runner_sends_all_images_once_and_no_paths(tmp_path, settings):
    f = _items(tmp_path)
    items = load_file(f, tmp_path / "imgs")
    with chat_server(lambda body: "B" if "stable" in json.dumps(body) and "Options" in json.dumps(body) else "It is stable.") as (url, bodies):
        s = settings.model_copy(update={"vlm": [VLMEndpoint(profile="test-vlm", base_url=url)]})
        runner = make_runner(s, RunnerConfig(name="direct"))
        with RunStore(tmp_path / "run", {"runner": "direct"}) as store:
            recs = run_local(items, runner, store, concurrency=2, show_progress=False)
    assert len(bodies) == 2  # joint: one request per item
    sent = json.dumps(bodies)
    assert sent.count('"type": "image_url"') == 4
    assert not [w for w in ("Patient-023", "week_084", "week_097", "Lumiere", "LUMIERE") if w in sent]
    closed = recs[f"{f.name}#0"]
    assert closed.status == "ok" and closed.letter == "B" and closed.score == 1.0
    assert recs[f"{f.name}#1"].open_scores["f1"] > 0.5


def test_direct_runner_refuses_without_vlm(settings):
    with pytest.raises(RunnerConfigError, match="No VLM is configured"):
        make_runner(settings, RunnerConfig(name="direct"))


def test_blind_text_refuses_without_llm_and_sends_no_images(tmp_path, settings):
    with pytest.raises(RunnerConfigError, match="--llm-base-url"):
        make_runner(settings, RunnerConfig(name="blind-text"))
    f = _items(tmp_path)
    items = load_file(f, tmp_path / "imgs")
    with chat_server(lambda body: "A") as (url, bodies):
        runner = make_runner(settings, RunnerConfig(name="blind-text", llm_base_url=url, llm_model="m"))
        with RunStore(tmp_path / "run", {"runner": "blind-text"}) as store:
            recs = run_local(items, runner, store, show_progress=False)
    assert "image_url" not in json.dumps(bodies) and len(bodies) == 2
    assert recs[f"{f.name}#0"].letter == "A" and recs[f"{f.name}#0"].score == 0.0


def test_judge_grades_with_the_rubric():
    with chat_server(lambda body: '{"score": 0.5, "reason": "partly"}') as (url, bodies):
        judge = Judge(url, "judge-model")
        assert judge.grade("What changed?", "The tumour grew.", "It is larger.") == 0.5
    system = bodies[0]["messages"][0]["content"]
    assert "reference answer" in system and bodies[0]["temperature"] == 0.0
    assert "Reference answer: The tumour grew." in bodies[0]["messages"][1]["content"]
