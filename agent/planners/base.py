"""The planner interface: given what is known so far, either more tool calls or a final draft."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from mimir.agent.offers import Offers
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
    offers: Offers = field(default_factory=Offers)
    rounds: int = 0
    notes: list[str] = field(default_factory=list)

    def results(self, kind: str) -> list[ToolRecord]:
        """Successful records of calls made for a capability ``kind``, oldest first."""
        return [r for r in self.records if r.call.kind == kind and r.ok]

    def failed(self, kind: str) -> list[ToolRecord]:
        """Failed records of calls made for a capability ``kind``."""
        return [r for r in self.records if r.call.kind == kind and not r.ok]

    def record_for(self, call: PlannedCall) -> ToolRecord | None:
        """The latest record of exactly this call (successful or not), or None."""
        found = [r for r in self.records if r.call.tool == call.tool and r.call.args == call.args]
        return found[-1] if found else None

    def attempted(self, call: PlannedCall) -> bool:
        """True when this exact call was already made (successfully or not)."""
        return self.record_for(call) is not None


Decision: TypeAlias = list[PlannedCall] | Draft


class Planner(Protocol):
    """Decides the next tool calls, or the answer, from a :class:`PlanView`."""

    name: str

    def next(self, view: PlanView) -> Decision:
        """More calls (run in parallel, then ``next`` again) or the final draft."""
        ...
