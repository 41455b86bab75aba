"""The runner contract and the configuration that builds a runner anywhere (locally or on Ray)."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, Field

from mimir.evals.items import RunnerInput, RunnerOutput


class InfraError(RuntimeError):
    """The run's infrastructure failed (endpoint down, timeout): excluded from accuracy."""


class RunnerConfigError(ValueError):
    """A runner cannot be built with this configuration; the message says what to set."""


class RunnerConfig(BaseModel):
    """What selects and configures a runner; plain data so it travels to Ray workers."""

    name: str = Field(description="A built-in runner (mimir.evals.runners.RUNNERS) or package.module:attr")
    memory: Literal["fresh", "patient"] = "fresh"
    vlm_profile: str | None = None
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint for blind-text")
    llm_model: str | None = None
    llm_api_key: str = "EMPTY"
    llm_timeout_s: float = 120.0
    run_id: str = ""


class Runner(Protocol):
    """Answers one item from a :class:`RunnerInput`; raises :class:`InfraError` on infrastructure faults."""

    name: str
    needs_images: bool

    def run(self, inp: RunnerInput) -> RunnerOutput:
        """Answer one item."""
        ...


def letter_status(letter: str | None, inp: RunnerInput) -> Literal["ok", "abstained"]:
    """'abstained' when a closed question got no valid option letter."""
    if inp.closed and (letter is None or letter not in inp.options):
        return "abstained"
    return "ok"
