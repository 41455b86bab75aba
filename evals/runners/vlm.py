"""VLM runners: ``direct`` and ``decomposed``.

``direct`` sends all images in one request (Med-MIM's setting); ``decomposed`` asks for one
description per image, then a text-only synthesis over the descriptions.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

from mimir.evals.items import RunnerInput, RunnerOutput
from mimir.evals.runners.base import InfraError, RunnerConfig, RunnerConfigError, letter_status

if TYPE_CHECKING:
    from mimir.settings import Settings

Strategy = Literal["joint", "decomposed"]


def _client(settings: Settings, config: RunnerConfig, strategy: Strategy) -> Any:
    """The configured VLM client with a fixed strategy (never 'auto', so runs stay comparable)."""
    from mimir.tools.vlm.factory import make_client

    try:
        client = make_client(settings, profile=config.vlm_profile, strategy=strategy)
    except KeyError as e:
        raise RunnerConfigError(str(e)) from e
    if client is None:
        raise RunnerConfigError(
            "No VLM is configured: add an endpoint (MIMIR_VLM or the config file's [[vlm]] table) "
            "or a local model (MIMIR_VLM_LOCAL_MODEL) before running the direct or decomposed runner"
        )
    return client


def _infra_errors() -> tuple[type[BaseException], ...]:
    from mimir.tools.vlm.base import VLMInfraError

    return (VLMInfraError, TimeoutError, ConnectionError)


def _rejected(e: Exception, inp: RunnerInput) -> RunnerOutput:
    """A request the model refused (too many images, 4xx): the system failed, not the run."""
    return RunnerOutput(text="", status="tool_failed", abstain_reason=f"VLM rejected the request: {e}")


def _output(resp: Any, inp: RunnerInput, t0: float, extra: dict[str, float] | None = None) -> RunnerOutput:
    letter = resp.letter if inp.closed else None
    timings = {"vlm_s": float(getattr(resp, "latency_s", 0.0) or 0.0), "total_s": time.perf_counter() - t0}
    usage = getattr(resp, "usage", None)
    return RunnerOutput(
        text=resp.text or "", letter=letter, status=letter_status(letter, inp),
        abstain_reason=None if letter_status(letter, inp) == "ok" else f"unparsed reply ({resp.parse_status})",
        timings={**timings, **(extra or {})},
        usage=usage if isinstance(usage, dict) else (usage.model_dump() if usage is not None else {}),
    )


class _VLMRunner:
    """Answers an item with the configured VLM under one fixed multi-image strategy."""

    name = ""
    strategy: Strategy = "joint"
    needs_images = True

    def __init__(self, settings: Settings, config: RunnerConfig) -> None:
        from mimir.tools.vlm.base import VLMRequestRejected

        self._client = _client(settings, config, self.strategy)
        self._errors = _infra_errors()
        self._rejected = VLMRequestRejected

    def run(self, inp: RunnerInput) -> RunnerOutput:
        """Ask the VLM; per-image descriptions (decomposed) come back as evidence."""
        t0 = time.perf_counter()
        try:
            resp = self._client.answer(list(inp.images), inp.question, inp.options or None)
        except self._errors as e:
            raise InfraError(f"VLM request failed: {e}") from e
        except self._rejected as e:
            return _rejected(e, inp)
        out = _output(resp, inp, t0)
        out.evidence = [{"statement": d, "image_indices": [i]} for i, d in enumerate(resp.descriptions)]
        return out


class DirectRunner(_VLMRunner):
    """All images and the question in one VLM request (the joint strategy, Med-MIM's setting)."""

    name = "direct"
    strategy: Strategy = "joint"


class DecomposedRunner(_VLMRunner):
    """One description per image, then a text-only synthesis that sees no pixels."""

    name = "decomposed"
    strategy: Strategy = "decomposed"
