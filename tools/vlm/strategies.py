"""Multi-image strategies that turn a backend into a :class:`~mimir.tools.vlm.base.VLMClient`.

- ``joint``: every image in one request.
- ``decomposed``: one description per image (each its own request), then a text-only synthesis.
- ``auto``: joint when the model accepts that many images and they fit the context with the prompt,
  else decomposed; a server's image-limit answer also falls back to decomposed.

No image is ever silently dropped or truncated: a 3D volume sent to a 2D model becomes a set of
slices, each counted as an image.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from mimir.tools.vlm.base import (
    ChatRequest,
    ImageLimitExceeded,
    ImageRef,
    Strategy,
    Usage,
    Visual,
    VLMBackend,
    VLMResponse,
)
from mimir.tools.vlm.parsing import parse_closed
from mimir.tools.vlm.profiles import ModelProfile
from mimir.tools.vlm.prompting import PromptBook, PromptName, default_book, option_list
from mimir.tools.vlm.visuals import load_visuals

log = logging.getLogger(__name__)
CLOSED_MAX_TOKENS = 32
CHARS_PER_TOKEN = 3.5


class StrategyClient:
    """A VLMClient: prompts, strategy choice and answer parsing over one backend."""

    def __init__(
        self, backend: VLMBackend, profile: ModelProfile, strategy: Strategy | None = None,
        book: PromptBook | None = None,
    ) -> None:
        self.backend = backend
        self.profile = profile
        self.strategy: Strategy = strategy or profile.default_strategy
        self.book = book or default_book()
        self.model = backend.model

    # ---- building blocks ---------------------------------------------------------------------
    def visuals(self, images: list[ImageRef]) -> list[Visual]:
        """All model inputs for the case images, in order (slices of a volume stay together)."""
        return [v for i, ref in enumerate(images) for v in load_visuals(ref, f"image {i + 1}", self.profile)]

    def _render(self, name: PromptName, **variables: object) -> tuple[str, str]:
        p = self.book.render(name, profile=self.profile.name, system_override=self.profile.system_prompt,
                             **variables)
        return p.system, p.user

    def _question_request(
        self, question: str, options: dict[str, str] | None, visuals: list[Visual],
        descriptions: list[dict[str, str]] | None = None,
    ) -> ChatRequest:
        common: dict[str, object] = {"question": question}
        if descriptions is None:
            common |= {"n_images": len(visuals), "image_labels": [v.label for v in visuals]}
        else:
            common["descriptions"] = descriptions
        if options:
            name: PromptName = "closed" if descriptions is None else "synthesis_closed"
            system, user = self._render(name, options=option_list(options), letters=", ".join(sorted(options)),
                                        **common)
            return ChatRequest(system=system, text=user, visuals=visuals, choices=sorted(options),
                               max_tokens=CLOSED_MAX_TOKENS)
        system, user = self._render("open" if descriptions is None else "synthesis_open", **common)
        return ChatRequest(system=system, text=user, visuals=visuals, max_tokens=self.profile.max_new_tokens)

    def choose(self, visuals: list[Visual], question: str, options: dict[str, str] | None) -> Strategy:
        """The strategy this request will use (``joint`` or ``decomposed``)."""
        if len(visuals) <= 1 or self.strategy == "joint":
            return "joint"
        if self.strategy == "decomposed":
            return "decomposed"
        request = self._question_request(question, options, visuals)
        prompt_tokens = int((len(request.system) + len(request.text)) / CHARS_PER_TOKEN)
        return "joint" if self.profile.images_fit(len(visuals), prompt_tokens, request.max_tokens) else "decomposed"

    def _describe_one(self, visual: Visual, question: str | None) -> tuple[str, Usage]:
        system, user = self._render("describe", label=visual.label, question=question)
        gen = self.backend.generate(ChatRequest(system=system, text=user, visuals=[visual],
                                                max_tokens=self.profile.max_new_tokens))
        return gen.text.strip(), gen.usage

    # ---- the client API ----------------------------------------------------------------------
    def answer(self, images: list[ImageRef], question: str, options: dict[str, str] | None = None) -> VLMResponse:
        """Answer ``question`` about ``images`` with the configured strategy."""
        start = time.perf_counter()
        visuals = self.visuals(images)
        if self.choose(visuals, question, options) == "joint":
            try:
                gen = self.backend.generate(self._question_request(question, options, visuals))
                resp = VLMResponse(text=gen.text.strip(), usage=gen.usage, strategy="joint", model=self.model)
                return self._finish(resp, options, start)
            except ImageLimitExceeded as e:
                if self.strategy != "auto":
                    raise
                log.info("falling back to decomposed: %s", e)
        return self._finish(self._decomposed(visuals, question, options), options, start)

    def _decomposed(self, visuals: list[Visual], question: str, options: dict[str, str] | None) -> VLMResponse:
        usage, descriptions = Usage(), []
        for v in visuals:
            text, u = self._describe_one(v, question)
            usage += u
            descriptions.append({"label": v.label, "text": text})
        gen = self.backend.generate(self._question_request(question, options, [], descriptions))
        return VLMResponse(text=gen.text.strip(), usage=usage + gen.usage, strategy="decomposed", model=self.model,
                           requests=len(visuals) + 1, descriptions=[d["text"] for d in descriptions])

    def _finish(self, resp: VLMResponse, options: dict[str, str] | None, start: float) -> VLMResponse:
        if options:
            parsed = parse_closed(resp.text, options)
            resp.letter, resp.parse_status = parsed.letter, parsed.status
        resp.latency_s = time.perf_counter() - start
        return resp

    def describe(self, image: ImageRef, prompt: str | None = None) -> VLMResponse:
        """Describe one case image (every slice of a volume, each labelled)."""
        start = time.perf_counter()
        usage, texts = Usage(), []
        visuals = self.visuals([image])
        for v in visuals:
            text, u = self._describe_one(v, prompt)
            usage += u
            texts.append(text if len(visuals) == 1 else f"{v.label}: {text}")
        resp = VLMResponse(text="\n".join(texts), usage=usage, strategy="describe", model=self.model,
                           requests=len(visuals))
        return self._finish(resp, None, start)

    def stream(
        self, images: list[ImageRef], question: str, options: dict[str, str] | None = None
    ) -> Iterator[str]:
        """Yield the answer's tokens; per-image descriptions (decomposed) run before the first token."""
        visuals = self.visuals(images)
        if self.choose(visuals, question, options) == "joint":
            pieces = self.backend.stream(self._question_request(question, options, visuals))
            try:
                first = next(pieces, None)
            except ImageLimitExceeded:
                if self.strategy != "auto":
                    raise
            else:
                if first is not None:
                    yield first
                yield from pieces
                return
        descriptions = [{"label": v.label, "text": self._describe_one(v, question)[0]} for v in visuals]
        yield from self.backend.stream(self._question_request(question, options, [], descriptions))
