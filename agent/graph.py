"""All of the planner's wiring in one place.

intake -> classify -> gather -> resolve -> (rules / JSON planner) plan -> act x N (Send) -> check -> plan ... -> answer
                                         -> (tool-calling LLM)     llm_agent <-> llm_tools -> answer
                     gather -> answer when a study reference cannot be bound (the turn abstains with the reason)
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer, Send

from mimir.agent.nodes.answer import answer
from mimir.agent.nodes.classify_question import classify
from mimir.agent.nodes.gather import gather_node
from mimir.agent.nodes.intake import intake
from mimir.agent.nodes.llm_loop import llm_agent, llm_tools
from mimir.agent.nodes.loop import act, check, plan
from mimir.agent.nodes.resolve import resolve
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState


def route_planner(state: AgentState, runtime: Runtime[AgentContext]) -> Literal["plan", "llm_agent"]:
    """Tool-calling chat models run the ReAct loop; every other planner runs plan/act/check."""
    del state
    return "llm_agent" if getattr(runtime.context.planner, "tool_calling", False) else "plan"


def after_gather(state: AgentState) -> Literal["resolve", "answer"]:
    """A turn that could not bind its studies ends with the reason; else the references are resolved."""
    return "answer" if state.get("draft") is not None else "resolve"


def fan_out(state: AgentState) -> list[Send] | Literal["answer"]:
    """One ``act`` task per planned call (they run in parallel), or the answer when none is left."""
    calls = state.get("pending", [])
    if state.get("draft") is not None or not calls:
        return "answer"
    return [Send("act", {"call": c, "case": state["case"], "turn": state["turn"]}) for c in calls]


def after_llm(state: AgentState) -> Literal["llm_tools", "answer"]:
    """The model asked for tools, or it is done."""
    return "answer" if state.get("draft") is not None else "llm_tools"


def build_graph(checkpointer: Checkpointer = None):  # CompiledStateGraph is generic
    """The compiled graph; pass a checkpointer for threads, follow-ups and interrupts."""
    g = StateGraph(AgentState, context_schema=AgentContext)
    for name, node in (("intake", intake), ("classify", classify), ("gather", gather_node), ("resolve", resolve), ("plan", plan),
                       ("act", act), ("check", check), ("answer", answer), ("llm_agent", llm_agent),
                       ("llm_tools", llm_tools)):
        g.add_node(name, node)  # type: ignore[call-overload, unused-ignore]  # the stubs type a node list of mixed input schemas as a union
    g.add_edge(START, "intake")
    g.add_edge("intake", "classify")
    g.add_edge("classify", "gather")
    g.add_conditional_edges("gather", after_gather, ["resolve", "answer"])
    g.add_conditional_edges("resolve", route_planner, ["plan", "llm_agent"])
    g.add_conditional_edges("plan", fan_out, ["act", "answer"])
    g.add_edge("act", "check")
    g.add_edge("check", "plan")
    g.add_conditional_edges("llm_agent", after_llm, ["llm_tools", "answer"])
    g.add_edge("llm_tools", "llm_agent")
    g.add_edge("answer", END)
    return g.compile(checkpointer=checkpointer)
