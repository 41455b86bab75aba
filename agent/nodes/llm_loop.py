"""llm_agent / llm_tools: the ReAct loop of a tool-calling chat model over the registry's tools.

A bad tool argument comes back to the model as a ToolMessage asking it to retry (LangGraph's
``ToolNode`` error handling); a tool that cannot handle an input answers the same way, so the
model can choose another route. A tool call the server could not parse (not JSON, or markup left in
the text) is sent back with the reason, up to ``MALFORMED_RETRIES`` times, then the case abstains.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from mimir.agent.events import emit
from mimir.agent.nodes.loop import failure_draft, run_call, unresolved_failure
from mimir.agent.planners.common import abstain
from mimir.agent.planners.llm import describe_case, draft_from_text, system_prompt
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState, PlannedCall, ToolRecord
from mimir.domain import Case, Evidence, ToolStep
from mimir.tools.framework.adapters import error_detail, error_status, to_langchain
from mimir.tools.framework.cache import referenced_indices
from mimir.tools.framework.runner import ToolOutcome

MALFORMED_RETRIES = 2
_TOOL_MARKUP = ("<tool_call>", "</tool_call>", '"arguments"')


def malformed_tool_call(reply: Any) -> str | None:
    """Why ``reply``'s tool call is unusable, or None when it has none or only valid ones.

    Unusable: arguments that are not JSON, or tool-call markup the server's parser left in the text.
    """
    if getattr(reply, "invalid_tool_calls", None):
        bad = reply.invalid_tool_calls[0]
        return f"{bad.get('name') or 'a tool'}: {bad.get('error') or 'arguments are not valid JSON'}"
    text = str(getattr(reply, "content", ""))
    if not getattr(reply, "tool_calls", None) and any(m in text for m in _TOOL_MARKUP):
        return f"unparsed tool-call text {text[:80]!r}"
    return None


def _tool_schemas(ctx: AgentContext) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": s.name, "description": s.description,
                                              "parameters": s.json_schema()}}
            for s in ctx.registry if s.name in ctx.available_tools()]


def llm_agent(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """One model turn: tool calls, or the final answer (also when the step budget is spent)."""
    ctx = runtime.context
    turn = state.get("turn", 1)
    new: list[Any] = []
    if not any(m.id == f"q-{turn}" for m in state.get("messages", [])):
        if not state.get("messages"):
            new.append(SystemMessage(system_prompt(), id="system"))
        new.append(HumanMessage(describe_case(state["case"], state["case"].question, state.get("timeline")),
                                id=f"q-{turn}"))
    rounds = state.get("rounds", 0) + 1
    if rounds > ctx.limits.max_steps or len(state.get("steps", [])) >= ctx.limits.max_tool_calls:
        return {"messages": new, "rounds": rounds, "draft": abstain("the planner ran out of steps")}
    if ctx.chat_model is None:
        raise ValueError("The llm planner needs a chat model (settings.planner_base_url / planner_model)")
    emit("step_started", node="llm_agent", round=rounds)
    model = ctx.chat_model.bind_tools(_tool_schemas(ctx))
    reply = model.invoke([*state.get("messages", []), *new])
    for _ in range(MALFORMED_RETRIES):
        problem = malformed_tool_call(reply)
        if problem is None:
            break
        emit("step_finished", node="llm_agent", tool_calls=[], malformed_tool_call=problem)
        new += [reply, HumanMessage(f"Your tool call could not be parsed ({problem}). Call the tool again with "
                                    "valid JSON arguments, or give the final answer.")]
        reply = model.invoke([*state.get("messages", []), *new])
    assert isinstance(reply, AIMessage)
    update: dict[str, Any] = {"messages": [*new, reply], "rounds": rounds}
    if (problem := malformed_tool_call(reply)) is not None:
        update["draft"] = abstain(f"the planner's tool calls could not be parsed after {MALFORMED_RETRIES} retries: "
                                  f"{problem}")
    elif not reply.tool_calls:
        # An answer written after an unrepaired fault would rest on a result nobody saw.
        failed = unresolved_failure(state.get("records", []), turn)
        update["draft"] = (failure_draft(failed) if failed
                           else draft_from_text(str(reply.content), state["question"].options))
    emit("step_finished", node="llm_agent", tool_calls=[c["name"] for c in reply.tool_calls])
    return update


def llm_tools(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the last message's tool calls through the ToolRunner; errors go back to the model."""
    ctx = runtime.context
    calls = state["messages"][-1].tool_calls if isinstance(state["messages"][-1], AIMessage) else []
    for c in calls:
        emit("tool_started", node="llm_tools", tool=c["name"], arguments=c["args"])
    runner = _PerCallRunner(ctx, state["case"])
    tools = [to_langchain(s, runner) for s in ctx.registry if s.name in ctx.available_tools()]
    out = ToolNode(tools).invoke({"messages": state["messages"]})
    messages = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    by_id: dict[str | None, dict[str, Any]] = {c["id"]: dict(c) for c in calls}
    steps, records, evidence = [], [], []
    for m in messages:
        call = by_id.get(m.tool_call_id, {"name": m.name or "?", "args": {}})
        step, record = _step(state.get("turn", 1), call, m)
        steps.append(step)
        records.append(record)
        if record.ok:
            evidence.append(Evidence(statement=f"{step.tool}: {str(m.content)[:160]}", image_indices=step.image_indices,
                                     tool_run_ids=[step.tool_run_id] if step.tool_run_id is not None else []))
        emit("tool_result", node="llm_tools", **step.model_dump(mode="json"))
    return {"messages": messages, "steps": steps, "records": records, "evidence": evidence}


class _PerCallRunner:
    """Runs each call with its own timeline session: ToolNode runs a message's calls in parallel."""

    def __init__(self, ctx: AgentContext, case: Case) -> None:
        self.ctx, self.case = ctx, case

    def call(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        """Like :meth:`ToolRunner.call` (with act's retry when a parallel identical call won the race)."""
        return run_call(self.ctx, {"call": PlannedCall(tool=name, args=args), "case": self.case, "turn": 0}, None)


def _step(turn: int, call: dict[str, Any], message: ToolMessage) -> tuple[ToolStep, ToolRecord]:
    art = message.artifact if isinstance(message.artifact, dict) else {}
    ok = message.status != "error"
    args = call.get("args", {})
    step = ToolStep(tool=call["name"], arguments=args, image_indices=sorted(set(referenced_indices(args))),
                    status=("cached" if art.get("cached") else "ok") if ok else error_status(str(message.content)),
                    summary=str(message.content)[:200], tool_run_id=art.get("tool_run_id"),
                    duration_s=float(art.get("duration_s") or 0.0), artifacts=list(art.get("artifacts") or []))
    record = ToolRecord(turn=turn, call=PlannedCall(tool=call["name"], args=args), step=step,
                        result={"content": str(message.content)} if ok else None,
                        error=None if ok else error_detail(str(message.content)))
    return step, record
