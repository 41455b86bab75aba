"""Runners: the system under test (agent, direct VLM, decomposed VLM) and image-free baselines.

:data:`RUNNERS` is the one list of built-in runners: ``mimir eval --runner``, the run orchestrator
(which checks images only for runners that need them) and docs/evals.md all read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mimir.evals.runners.base import InfraError, Runner, RunnerConfig, RunnerConfigError

if TYPE_CHECKING:
    from mimir.settings import Settings


@dataclass(frozen=True)
class RunnerEntry:
    """A built-in runner: its name, its class (``module:Class``), what it is built from, and what it sees."""

    name: str
    target: str
    builds_from: Literal["nothing", "config", "settings and config"]
    needs_images: bool
    summary: str

    def build(self, settings: Settings, config: RunnerConfig) -> Runner:
        """The runner, its class imported only now (the VLM and agent runners load heavy parts)."""
        module, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(f"mimir.evals.runners.{module}"), attr)
        if self.builds_from == "nothing":
            return cls()
        if self.builds_from == "config":
            return cls(config)
        return cls(settings, config)


RUNNERS: tuple[RunnerEntry, ...] = (
    RunnerEntry("agent", "agent:AgentRunner", "settings and config", True,
                "mimir's agent (`Agent.answer` in batch mode, planner from settings)"),
    RunnerEntry("direct", "vlm:DirectRunner", "settings and config", True,
                "all images in one VLM request (Med-MIM's setting)"),
    RunnerEntry("decomposed", "vlm:DecomposedRunner", "settings and config", True,
                "one VLM description per image, then a text-only synthesis"),
    RunnerEntry("chance", "baselines:ChanceRunner", "nothing", False,
                "the exact expectation of guessing, the mean of 1/len(options), not a sample"),
    RunnerEntry("blind-first", "baselines:BlindFirstRunner", "nothing", False, "always option A"),
    RunnerEntry("blind-text", "baselines:BlindTextRunner", "config", False,
                "the question to an OpenAI-compatible LLM without images (--llm-base-url, --llm-model)"),
)
#: Name -> entry of every built-in runner.
RUNNER_TABLE = {r.name: r for r in RUNNERS}

__all__ = ["RUNNERS", "RUNNER_TABLE", "InfraError", "Runner", "RunnerConfig", "RunnerConfigError", "RunnerEntry",
           "check_runner_name", "make_runner", "runner_choices"]


def runner_choices() -> str:
    """The names ``--runner`` takes, for help and error messages."""
    return ", ".join(r.name for r in RUNNERS) + " or package.module:attr"


def _plugin(spec: str, settings: Settings, config: RunnerConfig) -> Runner:
    """``package.module:attr``: a runner class (called with settings, config) or a ready instance."""
    module, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise RunnerConfigError(f"Cannot load runner {spec!r}: {e}") from e
    return obj(settings, config) if isinstance(obj, type) else obj


def check_runner_name(name: str) -> None:
    """Refuse a name that is neither a built-in runner nor ``module:attr`` (before any work is done)."""
    if name not in RUNNER_TABLE and ":" not in name:
        raise RunnerConfigError(f"Unknown runner {name!r}; choose one of {runner_choices()}")


def make_runner(settings: Settings, config: RunnerConfig) -> Runner:
    """Build the runner named in ``config``: an entry of :data:`RUNNERS`, or ``module:attr``."""
    check_runner_name(config.name)
    entry = RUNNER_TABLE.get(config.name)
    return entry.build(settings, config) if entry else _plugin(config.name, settings, config)


def needs_images(name: str) -> bool | None:
    """Whether the built-in runner ``name`` needs the items' images; None for a plug-in (its instance says)."""
    entry = RUNNER_TABLE.get(name)
    return entry.needs_images if entry else None
