"""answer: turn the planner's draft into the final :class:`mimir.domain.Answer`."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from mimir.agent.events import emit
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState, Draft
from mimir.domain import Answer
from mimir.tools.ood.gate import doubt


def answer(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Assemble the answer: text, letter or abstention, evidence, steps, timings and policy notes."""
    del runtime
    draft = state.get("draft") or Draft(status="abstained", text="No answer was reached.", reason="no plan concluded")
    question = state["question"]
    letter = draft.letter if draft.status == "ok" else None
    if question.closed and draft.status == "ok" and letter not in question.options:
        draft = Draft(status="abstained", text=f"The planner named no valid option ({letter!r}).",
                      reason=f"invalid option {letter!r}")
        letter = None
    if draft.status == "ok":
        draft = _with_doubts(draft, state)
    steps = list(state.get("steps", []))
    tool_time: dict[str, float] = {}
    for s in steps:
        tool_time[s.tool] = round(tool_time.get(s.tool, 0.0) + s.duration_s, 4)
    timings = {"total_s": round(time.time() - state.get("started_at", time.time()), 4),
               **{f"tool:{k}": v for k, v in tool_time.items()}}
    result = Answer(
        text=draft.text, letter=letter if question.closed else None, status=draft.status,
        abstain_reason=draft.reason if draft.status != "ok" else None, ability=state["ability"],
        closed=question.closed, evidence=[*state.get("evidence", []), *draft.evidence], steps=steps,
        resolution=state["resolution"], policy_notes=list(state.get("policy_notes", [])), timings=timings,
    )
    emit("answer", node="answer", answer=result.model_dump(mode="json"))
    case = state["case"]
    previous = {"question": case.question, "ability": state["ability"], "paths": [i.path for i in case.images]}
    return {"answer": result, "previous": previous}


def _with_doubts(draft: Draft, state: AgentState) -> Draft:
    """The draft with a stated doubt for every expert result of this turn whose input was borderline.

    And for every piece of the draft's evidence that carries one (a reading the expert is known to miss).
    """
    records = list(state.get("records", []))
    turn = max((r.turn for r in records), default=0)
    found = [d for r in records if r.turn == turn and (d := doubt(r.result))]
    found += [str(e.values["doubt"]) for e in draft.evidence if e.values.get("doubt")]
    doubts = list(dict.fromkeys(found))
    if not doubts:
        return draft
    return draft.model_copy(update={"text": f"{draft.text} Doubt: {'; '.join(doubts)}."})
