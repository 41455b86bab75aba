"""The graph's typed state. Images appear only as indices, ids and paths: never pixels or base64.

List fields grow through reducers (``operator.add``). ``records`` keeps every tool result of the
thread, tagged with its turn, so follow-up questions reuse earlier results; ``evidence``, ``steps``
and ``policy_notes`` belong to the current turn and the intake node resets them (``Overwrite``).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict, TypeVar

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field, ValidationError

from mimir.domain import Ability, Answer, Case, Evidence, ParsedQuestion, Resolution, ToolStep
from mimir.tools.framework.capabilities import Reading

R = TypeVar("R", bound=Reading)


class PlannedCall(BaseModel):
    """One tool call a planner wants made."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    purpose: str = ""
    kind: str = Field(default="", description="The declared capability the call uses (empty: chosen by a model)")


class ToolRecord(BaseModel):
    """A finished (or failed) call: the step shown to users plus the compact result planners read."""

    turn: int
    call: PlannedCall
    step: ToolStep
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the tool returned a result."""
        return self.result is not None

    def read(self, reading: type[R]) -> R | None:
        """The result as the reading its capability promises (None when it failed or does not fit)."""
        if self.result is None:
            return None
        try:
            return reading.model_validate(self.result)
        except ValidationError:
            return None


class TimelineSummary(BaseModel):
    """What the timeline knew about the patient before planning (prefetched at intake)."""

    patient_id: str | None = None
    known_images: int = 0
    studies: list[dict[str, Any]] = Field(default_factory=list)
    trajectories: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class Draft(BaseModel):
    """A planner's final decision, turned into an Answer by the answer node."""

    status: Literal["ok", "abstained", "tool_failed"] = "ok"
    letter: str | None = None
    text: str = ""
    reason: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)


class AgentState(TypedDict, total=False):
    """State of one thread; every turn is one question about the case's images."""

    case: Case
    turn: int
    question: ParsedQuestion
    ability: Ability
    previous: dict[str, Any]
    timeline: TimelineSummary
    resolution: Resolution
    #: Mentions bound to timeline studies before resolving (mention -> case image indices).
    settled: dict[str, list[int]]
    rounds: int
    started_at: float
    pending: list[PlannedCall]
    draft: Draft | None
    records: Annotated[list[ToolRecord], operator.add]
    evidence: Annotated[list[Evidence], operator.add]
    steps: Annotated[list[ToolStep], operator.add]
    policy_notes: Annotated[list[str], operator.add]
    messages: Annotated[list[AnyMessage], add_messages]
    answer: Answer | None


class ActInput(TypedDict):
    """What one fanned-out ``act`` task receives (through ``Send``)."""

    call: PlannedCall
    case: Case
    turn: int
