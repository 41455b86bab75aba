"""mimir's vLLM plug-in computes what the reference implementations compute, on the same tiny weights.

For each plug-in architecture a real vLLM server (CPU build, .venv-vllm) serves a tiny random-weight
checkpoint in the released layout; the same prompt with 1, 2 and 3 images goes to the server (its
prompt log-probabilities) and to a reference: transformers' LLaVA with Mantis' prompt layout for
Mantis, and a plain PyTorch/transformers MedM-VL written from its repository (fixtures/medm_reference)
for MedM-VL. The prompt token ids must be identical and every prompt position's top log-probabilities
must agree within ``TOL`` (both sides float32).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fixtures.vllm_models import Served

# A server start (up to START_TIMEOUT_S, fixtures/vllm_server.py) counts towards the first test it serves.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

#: Largest allowed |logprob_vllm - logprob_reference| at any prompt position (float32 on both sides;
#: measured: at most 1.0e-6 for Mantis and MedM-VL, from vLLM's own attention and fused kernels).
TOL = 1e-4
TOP = 20
SYSTEM = "answer with the letter of the option"
QUESTION = "compare the first and second image : is the lesion larger smaller or stable ?"


def pngs(n: int) -> list[Any]:
    """``n`` different 64x64 RGB images (the towers' size, so no resampling differs between sides)."""
    return pictures(tuple(range(n)))


def pictures(seeds: tuple[int, ...]) -> list[Any]:
    """One 64x64 RGB image per seed, in that order (the same seed gives the same image)."""
    from PIL import Image

    return [Image.fromarray((np.random.default_rng(i).random((64, 64, 3)) * 255).astype(np.uint8)) for i in seeds]


def data_url(image: Any) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def ask(url: str, model: str, images: list[Any]) -> tuple[list[int], list[dict[int, float] | None]]:
    """The server's prompt token ids and top-``TOP`` prompt log-probabilities."""
    content = [{"type": "image_url", "image_url": {"url": data_url(im)}} for im in images]
    body = {"model": model, "max_tokens": 1, "temperature": 0, "prompt_logprobs": TOP, "return_token_ids": True,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": [*content, {"type": "text", "text": QUESTION}]}]}
    r = httpx.post(f"{url}/chat/completions", json=body, timeout=600)
    r.raise_for_status()
    out = r.json()
    logprobs = [None if p is None else {int(t): float(v["logprob"]) for t, v in p.items()} for p in out["prompt_logprobs"]]
    return list(out["prompt_token_ids"]), logprobs


def compare(ids: list[int], logprobs: list[dict[int, float] | None], ref_ids: list[int], ref_logits: Any) -> float:
    """Assert identical ids; return the largest log-probability difference over all positions."""
    import torch

    assert ids == ref_ids, f"prompt token ids differ:\nvllm {ids}\nref  {ref_ids}"
    ref = torch.log_softmax(ref_logits.double(), dim=-1)
    worst = 0.0
    for pos in range(1, len(ids)):
        entry = logprobs[pos]
        assert entry is not None and len(entry) >= TOP
        for token, value in entry.items():
            worst = max(worst, abs(value - float(ref[pos - 1, token])))
    return worst


# ---- Mantis: transformers' LLaVA with Mantis' prompt layout ------------------------------------------
def mantis_reference(folder: Path) -> Callable[[list[Any]], tuple[list[int], Any]]:
    import torch
    from fixtures.vllm_tiny_llava import TOKENS_PER_IMAGE
    from transformers import AutoImageProcessor, AutoTokenizer, LlavaForConditionalGeneration

    model = LlavaForConditionalGeneration.from_pretrained(folder).eval()
    tok, proc = AutoTokenizer.from_pretrained(folder), AutoImageProcessor.from_pretrained(folder)
    image_id = tok.convert_tokens_to_ids("<image>")

    def run(images: list[Any]) -> tuple[list[int], Any]:
        user = "".join("<image>\n" for _ in images) + QUESTION
        text = tok.apply_chat_template([{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
                                       add_generation_prompt=True, tokenize=False)
        for i in range(len(images)):  # Mantis' MLlavaProcessor names each image
            text = text.replace("<image>", f"(image {i + 1}: <Image><IMAGE></Image>)", 1)
        ids: list[int] = []
        for tid in tok(text.replace("<IMAGE>", "<image>"), add_special_tokens=False).input_ids:
            ids.extend([image_id] * TOKENS_PER_IMAGE if tid == image_id else [tid])
        pixels = proc(images, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids]), pixel_values=pixels).logits[0]
        return ids, logits

    return run


# ---- MedM-VL: the plain PyTorch reference written from its repository --------------------------------
def medm_reference(folder: Path) -> Callable[[list[Any]], tuple[list[int], Any]]:
    from fixtures.medm_reference import MedMReference, qwen2_prompt

    ref = MedMReference(folder)
    pad = ref.tokenizer.convert_tokens_to_ids("<|image_pad|>")

    def run(images: list[Any]) -> tuple[list[int], Any]:
        expanded, logits = ref.logits(qwen2_prompt(SYSTEM, QUESTION, len(images)), images)
        return [pad if t is None else t for t in expanded], logits

    return run


REFERENCE = {"mantis": mantis_reference, "medm-vl": medm_reference}
PLUGIN_ARCHITECTURES = pytest.mark.parametrize("served", sorted(REFERENCE), indirect=True)


@PLUGIN_ARCHITECTURES
# 1, 2 and 3 images, then two seen before in swapped places: the server's processor cache then
# holds every image from an earlier request, made when it had another place in the prompt.
@pytest.mark.parametrize("seeds", [(0,), (0, 1), (0, 1, 2), (1, 0)], ids=["1", "2", "3", "2-swapped"])
def test_plugin_logits_match_the_reference(served: Served, seeds: tuple[int, ...]) -> None:
    images = pictures(seeds)
    ids, logprobs = ask(served.url, served.profile, images)
    ref_ids, ref_logits = REFERENCE[served.kind](served.folder)(images)
    worst = compare(ids, logprobs, ref_ids, ref_logits)
    print(json.dumps({"architecture": served.kind, "images": list(seeds), "max_abs_logprob_diff": worst}), flush=True)
    assert worst < TOL, f"{served.kind}, images {seeds}: largest log-probability difference {worst:.2e} >= {TOL}"


@PLUGIN_ARCHITECTURES
def test_each_image_moves_the_logits(served: Served) -> None:
    """The comparison above could pass with images ignored on both sides; they are not."""
    first = ask(served.url, served.profile, pngs(2))[1]
    swapped = ask(served.url, served.profile, list(reversed(pngs(2))))[1]
    assert first[-1] != swapped[-1]
