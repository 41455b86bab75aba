"""Backend ``openai``: an OpenAI-compatible chat server (vLLM, ``mimir serve-vlm``) via the openai package.

Images go as ``image_url`` parts in order, before the text, with no ``<image>`` placeholders;
base64 PNG data URLs by default, ``file://`` URLs for files under the server's allowed local media
path. Connection errors, timeouts and 5xx are retried with exponential backoff; other 4xx are not.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import openai

from mimir.tools.vlm.base import (
    ChatRequest,
    Generation,
    ImageLimitExceeded,
    Usage,
    Visual,
    VLMInfraError,
    VLMRequestRejected,
)
from mimir.tools.vlm.visuals import npy_data_url, png_data_url

log = logging.getLogger(__name__)
T = TypeVar("T")
_LIMIT = re.compile(r"At most (\d+) image\(?s?\)? may be provided in one prompt", re.IGNORECASE)
_RETRYABLE = (openai.APIConnectionError, openai.InternalServerError)


def image_part(visual: Visual, local_media_path: Path | None = None) -> dict[str, Any]:
    """One ``image_url`` content part for ``visual``."""
    if visual.kind == "volume":
        url = npy_data_url(visual)
    elif local_media_path is not None and _is_plain_file_under(visual.source, local_media_path):
        url = Path(visual.source).resolve().as_uri()
    else:
        url = png_data_url(visual)
    return {"type": "image_url", "image_url": {"url": url}}


def _is_plain_file_under(source: str, root: Path) -> bool:
    p = Path(source)
    return p.suffix.lower() in (".png", ".jpg", ".jpeg") and p.resolve().is_relative_to(root.resolve())


def build_messages(request: ChatRequest, local_media_path: Path | None = None) -> list[dict[str, Any]]:
    """One system message, then one user message: the images in order, then the text."""
    content: list[dict[str, Any]] = [image_part(v, local_media_path) for v in request.visuals]
    content.append({"type": "text", "text": request.text})
    return [{"role": "system", "content": request.system}, {"role": "user", "content": content}]


def classify_status_error(err: openai.APIStatusError, sent: int) -> VLMRequestRejected:
    """Map a 4xx answer to ImageLimitExceeded or VLMRequestRejected."""
    message = str(err.message or err)
    m = _LIMIT.search(message)
    if m or (err.status_code == 400 and "image" in message.lower() and "at most" in message.lower()):
        limit = int(m.group(1)) if m else None
        return ImageLimitExceeded(f"server accepts {limit} image(s) per prompt, {sent} sent: {message}", limit, sent)
    return VLMRequestRejected(f"server rejected the request (HTTP {err.status_code}): {message}", err.status_code)


class OpenAIBackend:
    """A model behind an OpenAI-compatible server."""

    def __init__(
        self, *, base_url: str, model: str, api_key: str = "EMPTY", timeout_s: float = 120.0,
        max_concurrency: int = 8, max_retries: int = 3, backoff_s: float = 0.5,
        structured_outputs: bool = False, local_media_path: Path | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.structured_outputs = structured_outputs
        self.local_media_path = local_media_path
        self.attempts = 0
        self._client_args = {"base_url": base_url, "api_key": api_key, "timeout": timeout_s, "max_retries": 0}
        self._client = openai.OpenAI(**self._client_args)  # type: ignore[arg-type]
        self._async_client: openai.AsyncOpenAI | None = None
        self._sem = threading.BoundedSemaphore(max_concurrency)
        self._max_concurrency = max_concurrency
        self._async_sem: asyncio.Semaphore | None = None

    def request_params(self, request: ChatRequest, stream: bool = False) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for ``request``."""
        params: dict[str, Any] = {
            "model": self.model,
            "messages": build_messages(request, self.local_media_path),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.choices and self.structured_outputs:
            params["extra_body"] = {"structured_outputs": {"choice": list(request.choices)}}
        if stream:
            params["stream"] = True
            params["stream_options"] = {"include_usage": True}
        return params

    def _with_retries(self, call: Callable[[], T], sent: int) -> T:
        delay = self.backoff_s
        for attempt in range(self.max_retries + 1):
            self.attempts += 1
            try:
                with self._sem:
                    return call()
            except _RETRYABLE as e:
                if attempt == self.max_retries:
                    raise VLMInfraError(
                        f"{self.base_url} ({self.model}) failed after {attempt + 1} attempts: {e}") from e
                log.warning("VLM request failed (%s); retry %d in %.1fs", e, attempt + 1, delay)
                time.sleep(delay)
                delay *= 2
            except openai.APIStatusError as e:
                raise classify_status_error(e, sent) from e
        raise AssertionError("unreachable")

    def generate(self, request: ChatRequest) -> Generation:
        """Run one request to completion."""
        params = self.request_params(request)
        resp = self._with_retries(lambda: self._client.chat.completions.create(**params), len(request.visuals))
        return _generation(resp)

    def stream(self, request: ChatRequest) -> Iterator[str]:
        """Yield text pieces as the server streams them (retries only before the first token)."""
        params = self.request_params(request, stream=True)
        chunks = self._with_retries(lambda: self._client.chat.completions.create(**params), len(request.visuals))
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    async def agenerate(self, request: ChatRequest) -> Generation:
        """Async :meth:`generate`, bounded by the same per-endpoint concurrency."""
        if self._async_client is None:
            self._async_client = openai.AsyncOpenAI(**self._client_args)  # type: ignore[arg-type]
            self._async_sem = asyncio.Semaphore(self._max_concurrency)
        assert self._async_sem is not None
        params = self.request_params(request)
        delay = self.backoff_s
        for attempt in range(self.max_retries + 1):
            self.attempts += 1
            try:
                async with self._async_sem:
                    return _generation(await self._async_client.chat.completions.create(**params))
            except _RETRYABLE as e:
                if attempt == self.max_retries:
                    raise VLMInfraError(f"{self.base_url} ({self.model}) failed after {attempt + 1} attempts: {e}") from e
                await asyncio.sleep(delay)
                delay *= 2
            except openai.APIStatusError as e:
                raise classify_status_error(e, len(request.visuals)) from e
        raise AssertionError("unreachable")

    def list_models(self) -> list[str]:
        """Model ids the server serves."""
        try:
            return [m.id for m in self._client.models.list()]
        except _RETRYABLE as e:
            raise VLMInfraError(f"cannot list models at {self.base_url}: {e}") from e


def _generation(resp: Any) -> Generation:
    text = resp.choices[0].message.content or "" if resp.choices else ""
    usage = Usage()
    if resp.usage is not None:
        usage = Usage(prompt_tokens=resp.usage.prompt_tokens, completion_tokens=resp.usage.completion_tokens)
    return Generation(text=text, usage=usage)
