"""classify: the question's ability and shape (closed with options, or open)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from mimir.agent.events import emit
from mimir.agent.question_kind import classify_question
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState


def classify(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Parse the question and name its ability."""
    del runtime
    kind = classify_question(state["case"].question)
    emit("step_finished", node="classify", ability=kind.ability, closed=kind.closed,
         options=len(kind.question.options))
    return {"ability": kind.ability, "question": kind.question}
