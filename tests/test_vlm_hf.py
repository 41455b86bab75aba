"""The ``transformers`` backend on a tiny random LLaVA-style VLM built offline (see fixtures/vlm_tiny)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fixtures.vlm_images import retina_pngs
from fixtures.vlm_tiny import TOKENS_PER_IMAGE, build_model, build_processor, save_tiny_vlm

from mimir.tools.vlm.base import ChatRequest, VLMRequestRejected
from mimir.tools.vlm.hf_backend import HFBackend, resolve_device
from mimir.tools.vlm.profiles import generic_profile
from mimir.tools.vlm.strategies import StrategyClient
from mimir.tools.vlm.visuals import load_visuals


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm"))


@pytest.fixture(scope="module")
def backend(tiny_dir: Path) -> HFBackend:
    return HFBackend(tiny_dir, model="tiny", device="cpu")


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    return retina_pngs(tmp_path, 3)


def _request(paths: list[Path], text: str = "compare the image", choices: list[str] | None = None) -> ChatRequest:
    profile = generic_profile("tiny")
    visuals = [v for i, p in enumerate(paths) for v in load_visuals(p, f"image {i + 1}", profile)]
    return ChatRequest(system="answer with the letter", text=text, visuals=visuals, choices=choices, max_tokens=4)


def test_auto_device_is_cpu_float32_here() -> None:
    assert resolve_device("auto", "auto") == ("cpu", torch.float32)


def test_each_image_costs_its_tokens(backend: HFBackend, images: list[Path]) -> None:
    _, processor = backend.load()
    image_id = processor.tokenizer.convert_tokens_to_ids("<image>")
    for n in (1, 2, 3):
        ids = backend.inputs(_request(images[:n]))["input_ids"]
        assert int((ids == image_id).sum()) == n * TOKENS_PER_IMAGE
    assert backend.count_prompt_tokens(_request(images)) - backend.count_prompt_tokens(_request(images[:1])) == 2 * TOKENS_PER_IMAGE


def test_changing_one_image_changes_the_logits(backend: HFBackend, images: list[Path], tmp_path: Path) -> None:
    base = backend.logits(_request(images))
    assert torch.allclose(base, backend.logits(_request(images)))
    other = tmp_path / "other"
    other.mkdir()
    swapped = [images[0], retina_pngs(other, 4)[3], images[2]]
    assert not torch.allclose(base, backend.logits(_request(swapped)), atol=1e-6)


def test_reloaded_from_disk_matches_the_model_in_memory(tiny_dir: Path, images: list[Path]) -> None:
    fresh = HFBackend(tiny_dir, device="cpu")
    processor = build_processor()
    torch.manual_seed(0)
    original = build_model(processor.tokenizer)  # same seed as the saved one
    request = _request(images)
    with torch.inference_mode():
        expected = original(**fresh.inputs(request)).logits[0, -1]
    assert torch.allclose(fresh.logits(request), expected, atol=1e-5)


def test_generation_and_constrained_choice(backend: HFBackend, images: list[Path]) -> None:
    gen = backend.generate(_request(images))
    assert gen.usage.completion_tokens >= 1 and gen.usage.prompt_tokens > 3 * TOKENS_PER_IMAGE
    choice = backend.generate(_request(images, choices=["A", "B", "C"]))
    assert choice.text in {"A", "B", "C"} and choice.usage.completion_tokens == 1
    logits = backend.logits(_request(images))
    tok = backend.load()[1].tokenizer
    best = max("ABC", key=lambda c: float(logits[tok.convert_tokens_to_ids(c)]))
    assert choice.text == best


def test_stream_yields_what_generate_returns(backend: HFBackend, images: list[Path]) -> None:
    request = _request(images[:2])
    assert "".join(backend.stream(request)).strip() == backend.generate(request).text.strip()


def test_client_answers_closed_question_over_three_images(backend: HFBackend, images: list[Path]) -> None:
    client = StrategyClient(backend, generic_profile("tiny"), strategy="joint")
    resp = client.answer(images, "compare the image", {"A": "larger", "B": "stable", "C": "smaller"})
    assert resp.parse_status == "letter" and resp.letter in {"A", "B", "C"} and resp.strategy == "joint"


def test_volumes_are_rejected_by_2d_models(backend: HFBackend, tmp_path: Path) -> None:
    import numpy as np

    from mimir.tools.vlm.base import Visual

    request = ChatRequest(system="s", text="t", visuals=[Visual(kind="volume", label="v", volume=np.zeros((2, 2, 2)))])
    with pytest.raises(VLMRequestRejected, match="not whole volumes"):
        backend.generate(request)


def test_missing_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="MIMIR_VLM_LOCAL_MODEL"):
        HFBackend(tmp_path / "absent")
