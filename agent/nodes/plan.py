"""plan: ask the planner for the next parallel tool calls or the final draft, within the limits."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from mimir.agent.events import emit
from mimir.agent.nodes.act import failure_draft, unresolved_failure
from mimir.agent.planners.base import PlanView
from mimir.agent.planners.common import abstain
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState, Draft


def view_of(state: AgentState, ctx: AgentContext) -> PlanView:
    """The planner's read-only view of the current turn."""
    return PlanView(
        case=state["case"], question=state["question"], ability=state["ability"],
        resolution=state["resolution"], timeline=state["timeline"], records=list(state.get("records", [])),
        available=frozenset(ctx.available_tools()), vlm_configured=ctx.vlm_configured, offers=ctx.offers(),
        rounds=state.get("rounds", 0),
    )


def over_budget(state: AgentState, ctx: AgentContext) -> str | None:
    """Why this turn must stop planning (steps, tool calls, time), or None."""
    limits = ctx.limits
    calls = len(state.get("steps", []))
    if state.get("rounds", 0) >= limits.max_steps:
        return f"the planner used its {limits.max_steps} steps"
    if calls >= limits.max_tool_calls:
        return f"the planner used its {limits.max_tool_calls} tool calls"
    if time.time() - state.get("started_at", time.time()) > limits.timeout_s:
        return f"the question took longer than {limits.timeout_s:.0f} s"
    return None


def plan(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """One planning round: calls to fan out, or the draft answer."""
    ctx = runtime.context
    emit("step_started", node="plan", planner=ctx.planner.name, round=state.get("rounds", 0) + 1)
    reason = over_budget(state, ctx)
    decision = abstain(reason) if reason else ctx.planner.next(view_of(state, ctx))
    if isinstance(decision, Draft):
        failed = unresolved_failure(state.get("records", []), state.get("turn", 1))
        if decision.status == "abstained" and failed is not None:  # the abstention says which tool failed
            decision = failure_draft(failed, decision.reason).model_copy(update={"evidence": decision.evidence})
        emit("step_finished", node="plan", decision="answer", status=decision.status)
        return {"draft": decision, "pending": [], "rounds": state.get("rounds", 0) + 1}
    room = ctx.limits.max_tool_calls - len(state.get("steps", []))
    calls = decision[: max(room, 0)]
    emit("step_finished", node="plan", decision="tools", calls=[c.model_dump(mode="json") for c in calls])
    return {"pending": calls, "draft": None, "rounds": state.get("rounds", 0) + 1}
