"""check: after a round of tools, report failures and decide whether to plan again."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from mimir.agent.events import emit
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState


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
