"""The ``openai`` backend against a scripted server: retries, errors, fallbacks, payload shape."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fixtures.vlm_images import retina_pngs
from fixtures.vlm_servers import ScriptedServer, completion
from pydantic import TypeAdapter

from mimir.tools.vlm.base import ImageLimitExceeded, VLMInfraError, VLMRequestRejected
from mimir.tools.vlm.openai_backend import OpenAIBackend
from mimir.tools.vlm.profiles import get_profile
from mimir.tools.vlm.strategies import StrategyClient

OPTIONS = {"A": "larger", "B": "stable", "C": "smaller"}


def _client(url: str, profile: str = "med-mantis", **kw: object) -> StrategyClient:
    prof = get_profile(profile)
    backend = OpenAIBackend(base_url=url, model=prof.served_name, timeout_s=kw.pop("timeout_s", 5.0),  # type: ignore[arg-type]
                            backoff_s=0.01, structured_outputs=prof.structured_outputs, **kw)  # type: ignore[arg-type]
    return StrategyClient(backend, prof)


def test_payload_is_a_valid_openai_request_with_images_in_order(tmp_path: Path) -> None:
    from openai.types.chat import CompletionCreateParams

    images = retina_pngs(tmp_path, 3)
    with ScriptedServer(lambda body: (200, completion("The answer is B"), 0)) as srv:
        resp = _client(srv.url).answer(images, "Has the lesion changed?", OPTIONS)
    assert (resp.letter, resp.parse_status, resp.strategy) == ("B", "letter", "joint")
    body = srv.bodies[0]
    TypeAdapter(CompletionCreateParams).validate_python(body)
    system, user = body["messages"]
    assert system["role"] == "system" and isinstance(system["content"], str)
    parts = user["content"]
    assert [p["type"] for p in parts] == ["image_url"] * 3 + ["text"]
    assert all(p["image_url"]["url"].startswith("data:image/png;base64,") for p in parts[:3])
    assert "<image>" not in parts[-1]["text"] and "A. larger" in parts[-1]["text"]
    assert body["structured_outputs"] == {"choice": ["A", "B", "C"]}
    # different images give different data URLs, in the order given
    assert len({p["image_url"]["url"] for p in parts[:3]}) == 3


def test_no_structured_outputs_when_the_profile_lacks_them(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 1)
    with ScriptedServer(lambda body: (200, completion("**(C)**"), 0)) as srv:
        resp = _client(srv.url, "medm-vl-ct-chest-3b").answer(images, "Size?", OPTIONS)
    assert "structured_outputs" not in srv.bodies[0] and resp.letter == "C"


def test_5xx_is_retried_then_raises_infra_error(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 1)
    with ScriptedServer(lambda body: (500, {"message": "engine dead"}, 0)) as srv:
        client = _client(srv.url, max_retries=2)
        with pytest.raises(VLMInfraError, match="after 3 attempts"):
            client.answer(images, "What is shown?")
    assert len(srv.bodies) == 3


def test_5xx_then_success_recovers(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 1)
    with ScriptedServer(lambda body: (503, None, 0) if len(srv.bodies) < 3 else (200, completion("a retina"), 0)) as srv:
        resp = _client(srv.url, max_retries=3).answer(images, "What is shown?")
    assert resp.text == "a retina" and len(srv.bodies) == 3


def test_timeouts_are_retried_then_raise_infra_error(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 1)
    with ScriptedServer(lambda body: (200, completion("late"), 1.5)) as srv:
        client = _client(srv.url, max_retries=1, timeout_s=0.3)
        start = time.perf_counter()
        with pytest.raises(VLMInfraError):
            client.answer(images, "What is shown?")
        assert time.perf_counter() - start < 5
        time.sleep(1.6)  # let the server finish answering the abandoned requests
    assert len(srv.bodies) == 2


def test_other_4xx_is_not_retried(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 1)
    with ScriptedServer(lambda body: (422, {"message": "bad temperature"}, 0)) as srv:
        with pytest.raises(VLMRequestRejected, match="HTTP 422") as info:
            _client(srv.url).answer(images, "What is shown?")
    assert len(srv.bodies) == 1 and not isinstance(info.value, ImageLimitExceeded)


def _limit_script(limit: int):
    def script(body: dict) -> tuple[int, dict, float]:
        n = sum(p["type"] == "image_url" for m in body["messages"] if isinstance(m["content"], list) for p in m["content"])
        if n > limit:
            return 400, {"object": "error", "message": f"At most {limit} image(s) may be provided in one prompt.",
                         "type": "BadRequestError", "param": None, "code": 400}, 0
        return 200, completion("B" if n == 0 else f"description of {n} image"), 0
    return script


def test_image_limit_answer_falls_back_to_decomposed(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 3)
    with ScriptedServer(_limit_script(1)) as srv:
        resp = _client(srv.url).answer(images, "Which is stable?", OPTIONS)  # med-mantis: auto, joint first
    assert resp.strategy == "decomposed" and resp.letter == "B"
    counts = [sum(p["type"] == "image_url" for p in b["messages"][1]["content"]) for b in srv.bodies]
    assert counts == [3, 1, 1, 1, 0]  # joint refused, 3 descriptions, text-only synthesis
    assert len(resp.descriptions) == 3 and resp.requests == 4


def test_image_limit_is_raised_when_joint_was_asked_for(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 3)
    with ScriptedServer(_limit_script(2)) as srv:
        client = _client(srv.url)
        client.strategy = "joint"
        with pytest.raises(ImageLimitExceeded) as info:
            client.answer(images, "Which is stable?", OPTIONS)
    assert (info.value.limit, info.value.sent) == (2, 3)


def test_single_image_models_describe_each_image_first(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 2)
    with ScriptedServer(_limit_script(8)) as srv:
        resp = _client(srv.url, "llava-med-v1.5").answer(images, "Compare them.")
    assert resp.strategy == "decomposed" and len(srv.bodies) == 3
    synthesis = srv.bodies[-1]["messages"][1]["content"][-1]["text"]
    assert "image 1: description of 1 image" in synthesis and "image 2:" in synthesis


def test_file_urls_under_the_allowed_media_path(tmp_path: Path) -> None:
    images = retina_pngs(tmp_path, 2)
    with ScriptedServer(lambda body: (200, completion("ok"), 0)) as srv:
        _client(srv.url, local_media_path=tmp_path).answer(images, "What is shown?")
    urls = [p["image_url"]["url"] for p in srv.bodies[0]["messages"][1]["content"][:2]]
    assert urls == [p.resolve().as_uri() for p in images]


def test_concurrency_is_bounded_per_endpoint(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    images = retina_pngs(tmp_path, 1)
    active, peak = [0], [0]

    def script(body: dict) -> tuple[int, dict, float]:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        active[0] -= 1
        return 200, completion("ok"), 0

    with ScriptedServer(script) as srv:
        client = _client(srv.url, max_concurrency=2)
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda _: client.answer(images, "q"), range(6)))
    assert peak[0] == 2 and len(srv.bodies) == 6


def test_async_generate_retries_and_answers(tmp_path: Path) -> None:
    import asyncio

    from mimir.tools.vlm.base import ChatRequest

    with ScriptedServer(lambda body: (500, None, 0) if len(srv.bodies) < 2 else (200, completion("fine"), 0)) as srv:
        backend = OpenAIBackend(base_url=srv.url, model="m", backoff_s=0.01)
        gen = asyncio.run(backend.agenerate(ChatRequest(system="s", text="t")))
    assert gen.text == "fine" and gen.usage.prompt_tokens == 10 and len(srv.bodies) == 2
