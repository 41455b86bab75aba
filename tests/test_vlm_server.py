"""``mimir serve-vlm`` serving the tiny VLM on loopback; the ``openai`` backend and ``vlm check`` talk to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fixtures.vlm_images import retina_pngs
from fixtures.vlm_servers import run_uvicorn
from fixtures.vlm_tiny import save_tiny_vlm
from typer.testing import CliRunner

from mimir.tools.vlm.base import ImageLimitExceeded
from mimir.tools.vlm.hf_backend import HFBackend
from mimir.tools.vlm.openai_backend import OpenAIBackend
from mimir.tools.vlm.profiles import generic_profile
from mimir.tools.vlm.strategies import StrategyClient
from mimir.tools.vlm.vlm_server import create_app

LIMIT = 2


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = save_tiny_vlm(tmp_path_factory.mktemp("tiny"))
    profile = generic_profile("tiny-vlm", images_accepted=LIMIT)
    app = create_app(HFBackend(folder, model="tiny-vlm", device="cpu"), profile)
    with run_uvicorn(app) as url:
        yield url


def _client(url: str, strategy: str = "auto") -> StrategyClient:
    backend = OpenAIBackend(base_url=url, model="tiny-vlm", max_retries=0, structured_outputs=True)
    profile = generic_profile("tiny-vlm", images_accepted=8).model_copy(update={"max_new_tokens": 8})
    return StrategyClient(backend, profile, strategy=strategy)  # type: ignore[arg-type]


def test_models_and_health(served: str) -> None:
    assert OpenAIBackend(base_url=served, model="tiny-vlm").list_models() == ["tiny-vlm"]
    assert httpx.get(served.removesuffix("/v1") + "/healthz").json()["status"] == "ok"


def test_two_images_answered_over_http_with_usage(served: str, tmp_path: Path) -> None:
    resp = _client(served).answer(retina_pngs(tmp_path, 2), "compare the image")
    assert resp.strategy == "joint" and resp.usage.prompt_tokens > 2 * 16 and resp.usage.completion_tokens > 0


def test_structured_choice_is_honoured(served: str, tmp_path: Path) -> None:
    resp = _client(served).answer(retina_pngs(tmp_path, 2), "compare", {"A": "larger", "B": "stable"})
    assert resp.text in {"A", "B"} and resp.parse_status == "letter"


def test_over_the_limit_gets_vllms_400_and_auto_falls_back(served: str, tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 3)
    with pytest.raises(ImageLimitExceeded, match="At most 2 image"):
        _client(served, "joint").answer(images, "compare")
    resp = _client(served, "auto").answer(images, "compare", {"A": "larger", "B": "stable"})
    assert resp.strategy == "decomposed" and resp.requests == 4 and resp.letter in {"A", "B"}


def test_streaming_matches_the_full_answer(served: str, tmp_path: Path) -> None:
    client = _client(served)
    images = retina_pngs(tmp_path, 2)
    streamed = "".join(client.stream(images, "compare the image"))
    assert streamed.strip() == client.answer(images, "compare the image").text
    with httpx.stream("POST", served + "/chat/completions", json={
            "model": "tiny-vlm", "stream": True, "stream_options": {"include_usage": True}, "max_tokens": 3,
            "messages": client.backend.request_params(client._question_request("compare", None, client.visuals(images)))["messages"],  # type: ignore[attr-defined]
    }) as r:
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    usage = json.loads(events[-2])["usage"]
    assert usage["prompt_tokens"] > 2 * 16 and usage["completion_tokens"] >= 1


def test_bad_requests_are_400(served: str) -> None:
    r = httpx.post(served + "/chat/completions", json={"model": "tiny-vlm", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://example.org/x.png"}}, {"type": "text", "text": "hi"}]}]})
    assert r.status_code == 400 and "no network" in r.json()["message"]
    r = httpx.post(served + "/chat/completions", json={"model": "other", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404


def test_vlm_check_reports_answer_and_limit(served: str) -> None:
    import typer

    from mimir.tools.vlm.cli import register

    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["vlm", "check", "--url", served, "--model", "tiny-vlm", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["answered"] and report["model_listed"] and report["image_limit"] == LIMIT
    assert report["latency_s"] > 0


def test_serve_vlm_refuses_open_binding_without_a_key(tmp_path: Path) -> None:
    import typer

    from mimir.tools.vlm.cli import register

    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["serve-vlm", "--model-path", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "api-key" in result.output


def test_medm_vl_without_its_code_says_how_to_install(tmp_path: Path) -> None:
    from mimir.tools.vlm.medm_backend import MedMVLBackend
    from mimir.tools.vlm.profiles import get_profile
    from mimir.tools.vlm.vlm_server import load_backend

    with pytest.raises(ModuleNotFoundError, match="MedM-VL's code is not installed: pip install"):
        load_backend(tmp_path, get_profile("medm-vl-ct-chest-3b"), "cpu", "auto")
    assert MedMVLBackend.__name__  # the module imports without MedM-VL installed


def test_vlm_check_on_a_dead_server_fails_cleanly() -> None:
    import typer
    from fixtures.vlm_servers import free_port

    from mimir.tools.vlm.cli import register

    app = typer.Typer()
    register(app)
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = CliRunner().invoke(app, ["vlm", "check", "--url", url, "--model", "m", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert not report["answered"] and "cannot list models" in report["error"]
