"""Runners: the system under test (agent, direct VLM, decomposed VLM) and image-free baselines."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mimir.evals.runners.base import InfraError, Runner, RunnerConfig, RunnerConfigError

if TYPE_CHECKING:
    from mimir.settings import Settings

RUNNER_NAMES = ("agent", "direct", "decomposed", "chance", "blind-first", "blind-text")

__all__ = ["RUNNER_NAMES", "InfraError", "Runner", "RunnerConfig", "RunnerConfigError", "make_runner"]


def _plugin(spec: str, settings: Settings, config: RunnerConfig) -> Runner:
    """``package.module:attr``: a runner class (called with settings, config) or a ready instance."""
    module, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise RunnerConfigError(f"Cannot load runner {spec!r}: {e}") from e
    return obj(settings, config) if isinstance(obj, type) else obj


def make_runner(settings: Settings, config: RunnerConfig) -> Runner:
    """Build the runner named in ``config`` (see :data:`RUNNER_NAMES`, or ``module:attr``)."""
    from mimir.evals.runners import baselines

    name = config.name
    if name == "chance":
        return baselines.ChanceRunner()
    if name == "blind-first":
        return baselines.BlindFirstRunner()
    if name == "blind-text":
        return baselines.BlindTextRunner(config)
    if name == "agent":
        from mimir.evals.runners.agent import AgentRunner

        return AgentRunner(settings, config)
    if name in ("direct", "decomposed"):
        from mimir.evals.runners.vlm import DecomposedRunner, DirectRunner

        return DirectRunner(settings, config) if name == "direct" else DecomposedRunner(settings, config)
    if ":" in name:
        return _plugin(name, settings, config)
    raise RunnerConfigError(f"Unknown runner {name!r}; choose one of {', '.join(RUNNER_NAMES)} or module:attr")
