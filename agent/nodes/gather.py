"""gather: for a question about a patient, add the comparable image of each study it refers to.

A question with a patient and no images ("has the tumour grown since the prior?"), or one whose
time references reach past the images given ("compare this upload with the prior"), gets its images
from the patient's timeline (:mod:`mimir.agent.study_binding`). The bindings are shown as evidence. When a
reference cannot be bound as asked, a person is asked to choose among the candidate studies (chat);
in batch the preferred reading is taken when there is one, else the turn abstains with the reason.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from mimir.agent.events import emit
from mimir.agent.planners.common import abstain
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState
from mimir.agent.studies import StudyRow, load_studies
from mimir.agent.study_binding import Gathered, Pins, Problem, gather, needs_timeline
from mimir.domain import Case, Resolution

#: The batch policy for ambiguous study references, recorded in ``Answer.policy_notes``.
BATCH_POLICY = "the preferred reading (the most recent qualifying study)"


def gather_node(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Bind the question's study references; extend the case, or end the turn with the reason."""
    ctx, case = runtime.context, state["case"]
    if not case.images and case.patient_id is None:
        return _stop("the question names no images and no patient")
    if case.images and not (case.patient_id or any(i.image_id for i in case.images)):
        return {}
    with ctx.session() as session:
        patient = _patient(session, case) if session is not None else None
        if patient is None or session is None:  # no session: no patient
            return {} if case.images else _stop(f"patient '{case.patient_id}' has no studies in the timeline")
        if not needs_timeline(case):
            return {}
        studies = load_studies(session, patient)
    if not studies:
        return _stop(f"patient '{case.patient_id}' has no studies in the timeline")
    emit("step_started", node="gather")
    pins: Pins = {}
    notes: list[str] = []
    result = gather(case, studies, ctx.offers(), pins)
    while result.problem is not None:
        chosen = _settle(result.problem, ctx.batch, notes)
        if chosen is None:
            emit("step_finished", node="gather", problem=result.problem.reason)
            return _stop(result.problem.reason, notes + result.notes)
        pins[result.problem.mention] = [s.study_id for s in chosen]
        result = gather(case, studies, ctx.offers(), pins)
    return _done(result, notes)


def _patient(session: Any, case: Case) -> int | None:
    """The patient's timeline id: by the case's patient id, else through a given image's study."""
    from sqlalchemy import select

    from mimir.memory import queries
    from mimir.memory.models import Image, Series, Study

    if case.patient_id is not None:
        row = queries.patient_by_key(session, case.patient_id)
        return row.id if row is not None else None
    ids = [i.image_id for i in case.images if i.image_id is not None]
    found = set(session.scalars(select(Study.patient_id).join(Series, Series.study_id == Study.id)
                                .join(Image, Image.series_id == Series.id).where(Image.id.in_(ids))))
    return found.pop() if len(found) == 1 else None


def _settle(problem: Problem, batch: bool, notes: list[str]) -> list[StudyRow] | None:
    """The studies to use for a problem: a person's choice (chat), the preferred reading, or None."""
    options = [c for c in problem.candidates if c]
    if not batch and len(options) > 1:
        return _ask(problem, options)
    if problem.preferred:
        notes.append(f"{problem.reason}; took {', '.join(s.label() for s in problem.preferred)} ({BATCH_POLICY})")
        return problem.preferred
    return None


def _ask(problem: Problem, options: list[list[StudyRow]]) -> list[StudyRow]:
    """Pause until a person picks a candidate (its option number)."""
    choice = interrupt({
        "node": "gather", "mention": problem.mention, "reason": problem.reason,
        "candidates": [{"option": k, "image_indices": [], "label": "; ".join(s.label() for s in c),
                        "studies": [{"study_id": s.study_id, "study_date": str(s.study_date or ""),
                                     "modality": s.modality, "description": s.description} for s in c]}
                       for k, c in enumerate(options)],
    })
    if isinstance(choice, dict):
        choice = choice.get("option")
    if isinstance(choice, list) and len(choice) == 1:
        choice = choice[0]
    if isinstance(choice, int) and 0 <= choice < len(options):
        return options[choice]
    raise ValueError(f"Resume choice {choice!r} is not one of the candidates of '{problem.mention}': "
                     f"give an option number 0..{len(options) - 1}")


def _stop(reason: str, notes: list[str] | None = None) -> dict[str, Any]:
    """End the turn before planning: the answer abstains with the reason."""
    return {"draft": abstain(reason), "resolution": Resolution(), "policy_notes": notes or []}


def _done(result: Gathered, notes: list[str]) -> dict[str, Any]:
    emit("step_finished", node="gather", images=len(result.case.images),
         bindings=[e.statement for e in result.evidence])
    return {"case": result.case, "evidence": result.evidence, "policy_notes": notes + result.notes,
            "settled": result.settled}
