"""The planning loop of the rules and JSON planners: plan -> act x N (``Send``) -> check -> plan ... -> answer.

- plan: ask the planner for the next parallel tool calls or the final draft, within the limits;
- act: run one planned tool call and record the outcome (argument errors, inputs a tool cannot
  handle and tool faults become failed records, not crashes);
- check: after a round of tools, report failures; the planner takes the next-best route.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime
from sqlalchemy.exc import IntegrityError

from mimir.agent.events import emit
from mimir.agent.planners.base import PlanView
from mimir.agent.planners.common import abstain
from mimir.agent.run_context import AgentContext
from mimir.agent.state import ActInput, AgentState, Draft, PlannedCall, ToolRecord
from mimir.domain import StepStatus, ToolStep
from mimir.tools.framework.cache import referenced_indices
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle, ToolUnavailable
from mimir.tools.framework.runner import ToolOutcome

log = logging.getLogger(__name__)


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


def act(task: ActInput, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Call the tool; argument errors, inputs it cannot handle and tool faults become failed records, not crashes.

    A fault (any other exception) is logged with its traceback and recorded as ``failed``, so the
    planner takes the next-best route and one broken tool never ends a batch run.
    """
    call, turn = task["call"], task["turn"]
    emit("tool_started", node="act", tool=call.tool, arguments=call.args, purpose=call.purpose)

    def progress(fraction: float, message: str) -> None:
        emit("tool_progress", node="act", tool=call.tool, fraction=fraction, message=message)

    indices = _indices(call)
    try:
        outcome = run_call(runtime.context, task, progress)
    except (ToolArgumentError, ToolCannotHandle) as e:
        status: StepStatus = ("unavailable" if isinstance(e, ToolUnavailable)
                              else "bad_arguments" if isinstance(e, ToolArgumentError) else "cannot")
        return _failed(turn, call, indices, status, str(e))
    except Exception as e:  # a fault inside the tool or its engine
        log.exception("tool %s failed on %s", call.tool, call.args)
        return _failed(turn, call, indices, "failed", f"{type(e).__name__}: {e}")
    result = outcome.result.model_dump(mode="json", exclude={"findings"})
    step = ToolStep(tool=call.tool, arguments=call.args, image_indices=indices,
                    status="cached" if outcome.cached else "ok", summary=_summary(result),
                    tool_run_id=outcome.tool_run_id, duration_s=round(outcome.duration_s, 4),
                    artifacts=list(outcome.artifacts))
    emit("tool_result", node="act", **step.model_dump(mode="json"))
    return {"records": [ToolRecord(turn=turn, call=call, step=step, result=result)], "steps": [step]}


def check(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Summarise this round; failed tools are left for the planner's next-best route."""
    del runtime
    turn = state.get("turn", 0)
    pending = {(c.tool, str(sorted(c.args.items()))) for c in state.get("pending", [])}
    this_round = [r for r in state.get("records", [])
                  if r.turn == turn and (r.call.tool, str(sorted(r.call.args.items()))) in pending]
    failed = [r for r in this_round if not r.ok]
    emit("step_finished", node="check", ran=len(this_round), failed=len(failed),
         failures=[f"{r.call.tool}: {r.error}"[:200] for r in failed])
    return {"pending": []}


def unresolved_failure(records: list[ToolRecord], turn: int) -> ToolRecord | None:
    """The turn's first tool fault (status ``failed``) not followed by a successful call of that tool."""
    mine = [r for r in records if r.turn == turn]
    for i, rec in enumerate(mine):
        if rec.step.status == "failed" and not any(r.ok and r.call.tool == rec.call.tool for r in mine[i + 1:]):
            return rec
    return None


def failure_draft(failed: ToolRecord, reason: str | None = None) -> Draft:
    """A ``tool_failed`` abstention naming the tool and its error (and the planner's own reason, if any)."""
    said = f"the tool {failed.call.tool} failed ({failed.error})" + (f", and {reason}" if reason else "")
    return abstain(said).model_copy(update={"status": "tool_failed"})


def _failed(turn: int, call: PlannedCall, indices: list[int], status: StepStatus, error: str) -> dict[str, Any]:
    step = ToolStep(tool=call.tool, arguments=call.args, image_indices=indices, status=status, summary=error[:300])
    emit("tool_result", node="act", **step.model_dump(mode="json"), error=error[:300])
    return {"records": [ToolRecord(turn=turn, call=call, step=step, error=error)], "steps": [step]}


def run_call(ctx: AgentContext, task: ActInput, progress: Callable[[float, str], None] | None) -> ToolOutcome:
    """Call through a runner with its own session; retry once when a parallel identical call won the race.

    Two images with the same content give two calls with one cache key: the one recorded second
    violates the unique key, and its retry reads the first one's run from the cache.
    """
    call = task["call"]
    try:
        with ctx.runner(task["case"], progress) as runner:
            return runner.call(call.tool, dict(call.args))
    except IntegrityError:
        with ctx.runner(task["case"], progress) as runner:
            return runner.call(call.tool, dict(call.args))


def _indices(call: PlannedCall) -> list[int]:
    return sorted(set(referenced_indices(call.args)))


def _summary(result: dict[str, Any]) -> str:
    """A one-line summary of a result for people (no paths, short)."""
    keep = {k: v for k, v in result.items() if not k.endswith("_path") and k not in ("measurements", "probabilities")}
    text = ", ".join(f"{k}={v}" for k, v in keep.items())
    return text[:200]
