"""The VLM as registered tools: ``vlm_answer`` (several images) and ``vlm_describe`` (one image)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mimir.settings import Settings
from mimir.tools.framework.capabilities import answers_visually, describes
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle, ToolUnavailable
from mimir.tools.framework.registry import Registry
from mimir.tools.vlm.base import ImageRef, VLMClient, VLMRequestRejected, VLMResponse
from mimir.tools.vlm.factory import NO_VLM, make_client, unavailable_reason


class VLMAnswerArgs(BaseModel):
    """Arguments of ``vlm_answer``."""

    image_indices: list[int] = Field(min_length=1, description="Case images to show the VLM, in order (0-based)")
    question: str = Field(min_length=1, description="The question, referring to images by their order here")
    options: dict[str, str] | None = Field(
        default=None, description="For multiple choice: option letter -> option text; omit for open questions")


class VLMDescribeArgs(BaseModel):
    """Arguments of ``vlm_describe``."""

    image_index: int = Field(description="The case image to describe (0-based)")
    prompt: str | None = Field(default=None, description="What to focus on; omit for a full description")


class VLMResult(BaseModel):
    """What the VLM said (and, for closed questions, the option letter)."""

    text: str
    letter: str | None = None
    parse_status: str | None = None
    image_indices: list[int]
    strategy: str
    model: str
    latency_s: float


def client_for(ctx: ToolContext) -> VLMClient:
    """The context's VLM client, built from settings on first use."""
    if ctx.vlm is None:
        ctx.vlm = make_client(ctx.settings)
    if ctx.vlm is None:
        raise ToolUnavailable(NO_VLM)
    return ctx.vlm


def _result(resp: VLMResponse, indices: list[int]) -> VLMResult:
    return VLMResult(text=resp.text, letter=resp.letter, parse_status=resp.parse_status, image_indices=indices,
                     strategy=resp.strategy, model=resp.model, latency_s=round(resp.latency_s, 3))


def vlm_answer(args: VLMAnswerArgs, ctx: ToolContext) -> VLMResult:
    """Ask the vision-language model a question about one or more case images, in the given order.

    For multiple choice pass ``options``; the result carries the chosen letter (or none if the model
    refused or was ambiguous). Models trained on single images get one description per image first.
    """
    if len(set(args.image_indices)) != len(args.image_indices):
        raise ToolArgumentError(f"image_indices repeats an image: {args.image_indices}")
    paths: list[ImageRef] = [str(ctx.image_path(i)) for i in args.image_indices]
    client = client_for(ctx)
    try:
        resp = client.answer(paths, args.question, args.options)
    except (VLMRequestRejected, FileNotFoundError) as e:
        raise ToolCannotHandle(f"the VLM cannot answer this: {e}") from e
    return _result(resp, args.image_indices)


def vlm_describe(args: VLMDescribeArgs, ctx: ToolContext) -> VLMResult:
    """Have the vision-language model describe one case image (modality, anatomy, findings)."""
    path = str(ctx.image_path(args.image_index))
    client = client_for(ctx)
    try:
        resp = client.describe(path, args.prompt)
    except (VLMRequestRejected, FileNotFoundError) as e:
        raise ToolCannotHandle(f"the VLM cannot describe image {args.image_index}: {e}") from e
    return _result(resp, [args.image_index])


def _availability(settings: Settings) -> str | None:
    return unavailable_reason(settings)


def register(registry: Registry) -> None:
    """Add ``vlm_answer`` and ``vlm_describe`` to ``registry``.

    Not cacheable: the answer depends on which model is configured, which the cache key does not see.
    """
    for func, capability in ((vlm_answer, answers_visually(dims=(2, 3))), (vlm_describe, describes(dims=(2, 3)))):
        registry.tool(func, version="1", dims=(2, 3), availability=_availability, cacheable=False, tags=("vlm",),
                      capabilities=(capability,))
