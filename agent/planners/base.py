"""The planner interface: given what is known so far, either more tool calls or a final draft."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from mimir.agent.state import Draft, PlannedCall, TimelineSummary, ToolRecord
from mimir.domain import Ability, Case, ParsedQuestion, Resolution


@dataclass(frozen=True)
class PlanView:
    """A planner's read-only view of one turn (built from the graph state and run context)."""

    case: Case
    question: ParsedQuestion
    ability: Ability
    resolution: Resolution
    timeline: TimelineSummary
    records: list[ToolRecord]
    available: frozenset[str]
    vlm_configured: bool
    rounds: int = 0
    notes: list[str] = field(default_factory=list)

    def results(self, tool: str) -> list[ToolRecord]:
        """Successful records of ``tool``, oldest first."""
        return [r for r in self.records if r.call.tool == tool and r.ok]

    def failed(self, tool: str) -> list[ToolRecord]:
        """Failed records of ``tool``."""
        return [r for r in self.records if r.call.tool == tool and not r.ok]

    def attempted(self, call: PlannedCall) -> bool:
        """True when this exact call was already made (successfully or not)."""
        return any(r.call.tool == call.tool and r.call.args == call.args for r in self.records)


Decision: TypeAlias = list[PlannedCall] | Draft


class Planner(Protocol):
    """Decides the next tool calls, or the answer, from a :class:`PlanView`."""

    name: str

    def next(self, view: PlanView) -> Decision:
        """More calls (run in parallel, then ``next`` again) or the final draft."""
        ...
