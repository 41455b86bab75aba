"""``mimir vlm check``: is a server up, does it answer about two images, how many does it accept."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from mimir.tools.vlm.base import ChatRequest, ImageLimitExceeded, Visual, VLMError, VLMRequestRejected
from mimir.tools.vlm.openai_backend import OpenAIBackend


class CheckReport(BaseModel):
    """What ``mimir vlm check`` found."""

    url: str
    model: str
    models: list[str] = []
    model_listed: bool = False
    answered: bool = False
    answer: str | None = None
    latency_s: float | None = None
    image_limit: int | None = None
    image_limit_note: str = ""
    error: str | None = None


def probe_image(seed: int) -> Visual:
    """A small synthetic test card (different for every seed)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    return Visual(label=f"image {seed + 1}", image=Image.fromarray(arr))


def _ask(backend: OpenAIBackend, n: int) -> str:
    req = ChatRequest(system="You are a helpful assistant.", text=f"How many images do you see? ({n} sent)",
                      visuals=[probe_image(i) for i in range(n)], max_tokens=16)
    return backend.generate(req).text


def probe_limit(backend: OpenAIBackend, max_images: int) -> tuple[int | None, str]:
    """The largest image count accepted, probing 1..max_images; (None, why) when none is."""
    accepted = 0
    for n in range(1, max_images + 1):
        try:
            _ask(backend, n)
        except ImageLimitExceeded as e:
            return (e.limit or accepted) or None, f"server refused {n} images: {e}"
        accepted = n
    return accepted, f"accepted every count up to {max_images} (the limit may be higher)"


def run_check(url: str, model: str, api_key: str = "EMPTY", max_images: int = 4, timeout_s: float = 120) -> CheckReport:
    """Run the checks against one OpenAI-compatible server."""
    backend = OpenAIBackend(base_url=url, model=model, api_key=api_key, timeout_s=timeout_s, max_retries=0)
    report = CheckReport(url=url, model=model)
    try:
        report.models = backend.list_models()
        report.model_listed = model in report.models
        start = time.perf_counter()
        try:
            report.answer = _ask(backend, 2)
            report.answered = True
            report.latency_s = round(time.perf_counter() - start, 3)
        except VLMRequestRejected as e:
            report.error = f"two-image request rejected: {e}"
        report.image_limit, report.image_limit_note = probe_limit(backend, max_images)
    except VLMError as e:
        report.error = str(e)
    return report


def human(report: CheckReport) -> str:
    """A few readable lines."""
    ok = "[green]ok[/]" if report.answered else "[red]failed[/]"
    lines = [f"server {report.url}: models {', '.join(report.models) or 'none'}",
             f"model {report.model}: {'listed' if report.model_listed else 'NOT listed'}",
             f"two-image request: {ok}" + (f" in {report.latency_s:.2f}s: {report.answer!r}" if report.answered else ""),
             f"image limit: {report.image_limit} ({report.image_limit_note})"]
    if report.error:
        lines.append(f"[red]error:[/] {report.error}")
    return "\n".join(lines)


def default_media_root(value: Path | None) -> Path | None:
    """Resolve an optional media folder, refusing a missing one."""
    if value is not None and not value.is_dir():
        raise FileNotFoundError(f"--allowed-local-media-path {value} is not a folder")
    return value
