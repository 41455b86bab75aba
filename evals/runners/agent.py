"""The mimir agent as a runner: ``Agent.answer`` in batch mode, one fresh thread per item by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mimir.domain import Case, CaseImage
from mimir.evals.items import RunnerInput, RunnerOutput
from mimir.evals.runners.base import RunnerConfig

if TYPE_CHECKING:
    from mimir.settings import Settings

_META_FIELDS = set(CaseImage.model_fields) - {"path", "image_id"}


def build_case(inp: RunnerInput) -> Case:
    """A :class:`Case` from what the runner may see; metadata only where the suite gives it."""
    metas: list[dict[str, Any]] = inp.image_meta or [{} for _ in inp.images]
    images = [CaseImage(path=str(p), **{k: v for k, v in m.items() if k in _META_FIELDS})
              for p, m in zip(inp.images, metas, strict=True)]
    return Case(question=inp.full_question(), images=images, patient_id=inp.patient_id)


class AgentRunner:
    """Runs ``mimir.agent.entry.Agent.answer`` with the planner chosen in settings (rules or llm)."""

    name = "agent"
    needs_images = True

    def __init__(self, settings: Settings, config: RunnerConfig) -> None:
        from mimir.agent.entry import Agent

        self._agent = Agent(settings)
        self._config = config

    def _thread(self, inp: RunnerInput) -> str | None:
        if self._config.memory == "patient" and inp.patient_id:
            return f"eval-{self._config.run_id}-{inp.patient_id}"
        return None  # a fresh thread per item

    def run(self, inp: RunnerInput) -> RunnerOutput:
        """Answer one item with the agent."""
        answer = self._agent.answer(build_case(inp), thread_id=self._thread(inp), batch=True)
        return RunnerOutput(
            text=answer.text, letter=answer.letter, status=answer.status,
            abstain_reason=answer.abstain_reason,
            evidence=[e.model_dump(mode="json") for e in answer.evidence],
            steps=[s.model_dump(mode="json") for s in answer.steps],
            timings=dict(answer.timings),
        )
