"""``mimir serve-vlm``: an OpenAI-compatible server over the ``transformers`` or MedM-VL backend.

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` (image_url parts as data URLs, or
``file://`` URLs under an allowed local media folder; SSE streaming; usage), ``GET /healthz``.
Requests with more images than the profile accepts get vLLM's 400 answer, word for word.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse

from mimir.tools.vlm.base import ChatRequest, Visual, VLMBackend, VLMRequestRejected
from mimir.tools.vlm.profiles import ModelProfile
from mimir.tools.vlm.visuals import decode_data_url


def image_limit_message(limit: int) -> str:
    """VLLM's wording for a request over ``--limit-mm-per-prompt``."""
    return f"At most {limit} image(s) may be provided in one prompt."


def _error(message: str, status: int = 400) -> JSONResponse:
    kind = "BadRequestError" if status == 400 else "NotFoundError" if status == 404 else "Error"
    body = {"object": "error", "message": message, "type": kind, "param": None, "code": status}
    return JSONResponse(body, status_code=status)


class RequestError(ValueError):
    """A malformed or unacceptable request (answered with HTTP 400)."""


def _visual(url: str, label: str, media_root: Path | None) -> Visual:
    from PIL import Image

    if url.startswith("file://"):
        path = Path(url[len("file://"):]).resolve()
        if media_root is None or not path.is_relative_to(media_root.resolve()):
            raise RequestError(f"local file URLs are allowed only under --allowed-local-media-path; got {url}")
        return Visual(label=label, image=Image.open(path).convert("RGB"), source=str(path))
    if not url.startswith("data:"):
        raise RequestError("only data: URLs (and file:// under the allowed media path) are accepted; no network")
    mime, payload = decode_data_url(url)
    if mime == "application/x-npy":
        return Visual(kind="volume", label=label, volume=np.load(io.BytesIO(payload), allow_pickle=False))
    return Visual(label=label, image=Image.open(io.BytesIO(payload)).convert("RGB"))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content or [] if p.get("type") == "text")


def parse_chat(body: dict[str, Any], media_root: Path | None) -> ChatRequest:
    """The backend request for an OpenAI chat-completions body."""
    messages = body.get("messages") or []
    if not messages:
        raise RequestError("messages must not be empty")
    system = "\n".join(_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    turns: list[tuple[str | None, str]] = []
    visuals: list[Visual] = []
    for m in messages:
        if m.get("role") in ("system", "developer"):
            continue
        content = m.get("content")
        for part in content if isinstance(content, list) else []:
            if part.get("type") == "image_url":
                url = part["image_url"]["url"] if isinstance(part["image_url"], dict) else part["image_url"]
                visuals.append(_visual(url, f"image {len(visuals) + 1}", media_root))
        turns.append((m.get("role"), _text(content)))
    text = turns[-1][1] if len(turns) == 1 else "\n".join(f"{r}: {t}" for r, t in turns)
    choices = (body.get("structured_outputs") or {}).get("choice")
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 512
    return ChatRequest(system=system, text=text, visuals=visuals, choices=choices, max_tokens=int(max_tokens),
                       temperature=float(body.get("temperature") or 0.0))


def _completion(model: str, text: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "usage": usage,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


def _sse(model: str, pieces: Iterator[str], include_usage: bool, prompt_tokens: int) -> Iterator[str]:
    cid, created, n = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), 0

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict | None = None) -> str:
        choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
        data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": choices, "usage": usage}
        return f"data: {json.dumps(data)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces:
        n += 1
        yield chunk({"content": piece})
    yield chunk({}, "stop")
    if include_usage:
        yield chunk({}, usage={"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n})
    yield "data: [DONE]\n\n"


def create_app(backend: VLMBackend, profile: ModelProfile, *, api_key: str | None = None,
               media_root: Path | None = None) -> FastAPI:
    """The FastAPI app serving ``backend`` under the profile's served name."""
    app = FastAPI(title=f"mimir serve-vlm: {profile.served_name}")
    name = profile.served_name

    def authorised(header: str | None) -> bool:
        return api_key is None or header == f"Bearer {api_key}"

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "model": name}

    @app.get("/v1/models")
    def models(authorization: str | None = Header(default=None)) -> Any:
        if not authorised(authorization):
            return _error("invalid API key", 401)
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "mimir",
                                            "max_model_len": profile.context_length}]}

    @app.post("/v1/chat/completions")
    def chat(body: dict[str, Any], authorization: str | None = Header(default=None)) -> Any:
        if not authorised(authorization):
            return _error("invalid API key", 401)
        if body.get("model") not in (None, name):
            return _error(f"The model `{body.get('model')}` does not exist.", 404)
        try:
            request = parse_chat(body, media_root)
        except (RequestError, ValueError, OSError, KeyError) as e:
            return _error(f"invalid request: {e}")
        if len(request.visuals) > profile.images_accepted:
            return _error(image_limit_message(profile.images_accepted))
        try:
            if body.get("stream"):
                include = bool((body.get("stream_options") or {}).get("include_usage"))
                counter = getattr(backend, "count_prompt_tokens", None)
                prompt_tokens = counter(request) if include and counter else 0
                return StreamingResponse(_sse(name, backend.stream(request), include, prompt_tokens),
                                         media_type="text/event-stream")
            gen = backend.generate(request)
        except VLMRequestRejected as e:
            return _error(str(e), e.status_code)
        u = gen.usage
        usage = {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
                 "total_tokens": u.prompt_tokens + u.completion_tokens}
        return _completion(name, gen.text, usage)

    @app.exception_handler(RequestError)
    async def _bad(_: Request, exc: RequestError) -> JSONResponse:
        return _error(str(exc))

    return app


def load_backend(model_path: Path, profile: ModelProfile, device: str, dtype: str) -> VLMBackend:
    """The backend a profile names: MedM-VL's own code, or transformers."""
    if profile.backend == "medm_vl":
        from mimir.tools.vlm.medm_backend import MedMVLBackend

        return MedMVLBackend(model_path, model=profile.served_name, device=device, dtype=dtype)
    from mimir.tools.vlm.hf_backend import HFBackend

    return HFBackend(model_path, model=profile.served_name, device=device, dtype=dtype)
