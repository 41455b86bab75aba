"""The one VLM interface mimir codes against, its response model and its errors.

A :class:`VLMClient` answers questions about an ordered list of images. Backends (``openai`` for vLLM
and ``mimir serve-vlm``, ``transformers`` in process) implement the smaller :class:`VLMBackend`
protocol; :mod:`mimir.tools.vlm.strategies` turns a backend into a client (joint / decomposed / auto).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from PIL import Image as PILImage

ImageRef = str | Path
ParseStatus = Literal["letter", "text_match", "refusal", "unparsed"]
Strategy = Literal["joint", "decomposed", "auto"]


class Usage(BaseModel):
    """Token counts summed over every request a response needed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class VLMResponse(BaseModel):
    """What a VLM said, and for closed questions the option letter parsed from it."""

    text: str
    letter: str | None = Field(default=None, description="Option letter for closed questions")
    parse_status: ParseStatus | None = Field(default=None, description="None for open questions")
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    strategy: str = Field(default="joint", description="joint, decomposed, or describe")
    model: str = ""
    requests: int = Field(default=1, description="Server requests this answer took")
    descriptions: list[str] = Field(default_factory=list, description="Per-image descriptions (decomposed)")


class VLMError(RuntimeError):
    """Base of VLM failures."""


class VLMInfraError(VLMError):
    """The server could not be reached or kept failing (connection, timeout, 5xx after retries)."""


class VLMRequestRejected(VLMError):
    """The server refused the request (HTTP 4xx); retrying the same request will not help."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class ImageLimitExceeded(VLMRequestRejected):
    """The server accepts fewer images per prompt than were sent (vLLM's 400 answer)."""

    def __init__(self, message: str, limit: int | None = None, sent: int | None = None) -> None:
        super().__init__(message, 400)
        self.limit = limit
        self.sent = sent


class Visual(BaseModel):
    """One prepared model input: a 2D image, or a whole CT volume for 3D-native models."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: Literal["image", "volume"] = "image"
    label: str = Field(description="Where it came from, e.g. 'image 2' or 'image 1, slice 12/32'")
    image: Any = Field(default=None, description="PIL image (kind='image')")
    volume: Any = Field(default=None, description="uint8 numpy array (kind='volume')")
    source: str = ""

    def pil(self) -> PILImage.Image:
        """The 2D image, or a TypeError for a volume."""
        if self.kind != "image" or self.image is None:
            raise TypeError(f"{self.label} is a volume, not a 2D image")
        return self.image


class ChatRequest(BaseModel):
    """One chat turn to a backend: a system message, images in order, then the user's text."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    system: str
    text: str
    visuals: list[Visual] = Field(default_factory=list)
    choices: list[str] | None = Field(default=None, description="Constrain the output to one of these")
    max_tokens: int = 512
    temperature: float = 0.0


class Generation(BaseModel):
    """A backend's raw answer to one request."""

    text: str
    usage: Usage = Field(default_factory=Usage)


@runtime_checkable
class VLMBackend(Protocol):
    """One way to run a model: a single request with all its images, no strategy."""

    model: str

    def generate(self, request: ChatRequest) -> Generation:
        """Run one request to completion."""
        ...

    def stream(self, request: ChatRequest) -> Iterator[str]:
        """Run one request, yielding text pieces as they come."""
        ...


@runtime_checkable
class VLMClient(Protocol):
    """What the agent, tools and evals call."""

    model: str

    def answer(
        self, images: list[ImageRef], question: str, options: dict[str, str] | None = None
    ) -> VLMResponse:
        """Answer a question about the images; closed when ``options`` (letter -> text) is given."""
        ...

    def describe(self, image: ImageRef, prompt: str | None = None) -> VLMResponse:
        """Describe one image."""
        ...

    def stream(
        self, images: list[ImageRef], question: str, options: dict[str, str] | None = None
    ) -> Iterator[str]:
        """Answer like :meth:`answer`, yielding tokens as they are generated."""
        ...
