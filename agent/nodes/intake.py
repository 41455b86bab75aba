"""intake: start a turn, register the case's images in the timeline and prefetch the patient's history."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from mimir.agent.events import emit
from mimir.agent.headers import fill_from_headers
from mimir.agent.prefetch import prefetch, register
from mimir.agent.question_kind import is_follow_up
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState
from mimir.domain import Case, Evidence
from mimir.memory.grammar import Reference, references
from mimir.memory.numbering import one_based
from mimir.spelling import respell


def intake(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Register images, prefetch the timeline, and reset the per-turn fields."""
    emit("step_started", node="intake")
    ctx = runtime.context
    previous = state.get("previous") or {}
    case, typos = _respelled(_with_follow_up(state["case"], previous))
    with ctx.session() as session:
        if session is not None:
            case = register(session, case, ctx.settings, ctx.known_images)
            from mimir.memory.registration import check_one_patient

            check_one_patient(session, case)  # a question never combines two patients' images
        case = fill_from_headers(case, ctx.header_cache)
        timeline = prefetch(session, case)
    same_images = previous.get("paths") == [i.path for i in case.images]
    update: dict[str, Any] = {
        "case": case, "turn": state.get("turn", 0) + 1, "timeline": timeline, "rounds": 0,
        "started_at": time.time(), "pending": [], "draft": None, "answer": None, "settled": {},
        "evidence": Overwrite(typos), "steps": Overwrite([]), "policy_notes": Overwrite([]),
    }
    if not same_images:
        update["records"] = Overwrite([])
    emit("step_finished", node="intake", images=len(case.images), known_images=timeline.known_images,
         prior_studies=len(timeline.studies))
    return update


def _respelled(case: Case) -> tuple[Case, list[Evidence]]:
    """The case with mistyped words read as the clinical words meant and zero-based image numbers renumbered.

    A statement for each goes into the evidence: a one-keystroke typo read as a vocabulary word, images
    numbered from zero read as counted from one.
    """
    text, zero_based = one_based(case.question)
    notes = [Evidence(statement="Read the image numbers as counted from zero (image 0 is mimir's image 1)")] if zero_based else []
    text, changed = respell(text)
    if changed:
        said = ", ".join(f"'{a}' as '{b}'" for a, b in dict.fromkeys(changed))
        notes.append(Evidence(statement=f"Read {said} (one keystroke from a word of the clinical vocabulary)"))
    return (case.model_copy(update={"question": text}), notes) if notes else (case, [])


def _with_follow_up(case: Case, previous: dict[str, Any]) -> Case:
    """'and in the third image?' becomes the previous question about the third image."""
    before = previous.get("question")
    if not before or not is_follow_up(case.question):
        return case
    mention, old = _place_named(case.question), _place_named(before)
    text = before if mention is None or old is None else before[: old.start] + mention.text + before[old.end:]
    return case.model_copy(update={"question": text})


def _place_named(text: str) -> Reference | None:
    """The first reference that names an image by its place ("the third image", "image 2", "the last one")."""
    return next((r for r in references(text) if r.has("O") or r.has("N") and r.has("Q")), None)
