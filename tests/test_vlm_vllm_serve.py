"""mimir against real vLLM servers: `mimir vlm check`, the direct and decomposed eval runners, the LLM planner.

Each architecture mimir's model profiles name is served by vLLM's CPU build on a tiny random-weight
checkpoint (fixtures/vllm_models), one server after another, and driven through mimir's own CLI as
a user would. The answers are meaningless; what is tested is the plumbing: several images per
request, the image limit, structured outputs, answer parsing, strategies, and abstention (not a
crash) when the output cannot be parsed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures.vllm_models import SPECS, Served

from mimir.tools.vlm.profiles import get_profile

# A server start (up to START_TIMEOUT_S, fixtures/vllm_server.py) counts towards the first test it serves.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
ARCHITECTURES = pytest.mark.parametrize("served", list(SPECS), indirect=True)
MIMIR = [str(Path(sys.executable).with_name("mimir"))]


def mimir(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run mimir's CLI in a subprocess (as a user would), with ``env`` added."""
    return subprocess.run([*MIMIR, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env})


def vlm_env(served: Served, data: Path) -> dict[str, str]:
    return {"MIMIR_VLM": json.dumps([{"profile": served.profile, "base_url": served.url, "timeout_s": 120}]),
            "MIMIR_DATA_DIR": str(data)}


@ARCHITECTURES
def test_vlm_check_answers_with_several_images_and_finds_the_limit(served: Served) -> None:
    result = mimir(["vlm", "check", "--url", served.url, "--model", served.profile, "--max-images", "4", "--json"], {})
    line = result.stdout.strip().splitlines()[-1]
    print(f"\n{line}", flush=True)  # `make vllm-smoke` shows one JSON line per architecture, on a line of its own
    report = json.loads(line)
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["answered"] and report["model_listed"] and report["error"] is None
    assert report["image_limit"] == 3, report["image_limit_note"]  # the server's --limit-mm-per-prompt


def _items(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "items.jsonl").read_text().splitlines() if line.strip()]


@ARCHITECTURES
@pytest.mark.parametrize("runner", ["direct", "decomposed"])
def test_eval_runs_demo_items_end_to_end(served: Served, runner: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["eval", "--suite", "demo", "--patients", "1", "--limit", "4", "--runner", runner,
            "--vlm-profile", served.profile, "--concurrency", "2", "--out", str(out), "--json"]
    result = mimir(args, vlm_env(served, tmp_path / "data"))
    assert result.returncode == 0, result.stderr[-3000:]
    items = _items(out)
    assert len(items) == 4
    structured = get_profile(served.profile).structured_outputs
    for item in items:
        assert item["status"] in ("ok", "abstained", "tool_failed"), item
        if item["status"] == "tool_failed":  # joint request over the server's 3-image limit: rejected, said so
            assert runner == "direct" and "At most 3 image" in (item["abstain_reason"] or ""), item
        elif item["closed"] and item["status"] == "ok":
            assert item["letter"] in "ABCDEFGH" and item["score"] in (0.0, 1.0)
        elif item["closed"]:
            assert item["letter"] is None and "unparsed" in item["abstain_reason"], item
            assert not structured, f"{served.profile} constrains answers to the letters: {item}"
    if runner == "decomposed":
        assert all(item["status"] != "tool_failed" for item in items)


@pytest.mark.parametrize("served", ["planner"], indirect=True)
def test_llm_planner_retries_a_malformed_tool_call_then_abstains(served: Served, tmp_path: Path) -> None:
    """vLLM's hermes parser cannot read the model's tool call; the planner sends it back, then abstains."""
    from mimir.agent.nodes.llm_loop import MALFORMED_RETRIES

    log = served.folder.parent / "vllm.log"
    before = log.read_text(errors="replace").count("POST /v1/chat/completions")
    out = tmp_path / "run"
    env = {"MIMIR_PLANNER": "llm", "MIMIR_PLANNER_BASE_URL": served.url, "MIMIR_PLANNER_MODEL": served.profile,
           "MIMIR_DATA_DIR": str(tmp_path / "data")}
    result = mimir(["eval", "--suite", "demo", "--patients", "1", "--limit", "2", "--runner", "agent",
                    "--out", str(out), "--json"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    items = _items(out)
    assert len(items) == 2
    for item in items:
        assert item["status"] == "abstained", item
        assert f"could not be parsed after {MALFORMED_RETRIES} retries" in item["abstain_reason"], item
    requests = log.read_text(errors="replace").count("POST /v1/chat/completions") - before
    assert requests == len(items) * (1 + MALFORMED_RETRIES)
