"""resolve: bind mentions to images; ask a person when a reference is ambiguous (batch: a stated policy)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from mimir import vocabulary as voc
from mimir.agent.events import emit
from mimir.agent.run_context import AgentContext
from mimir.agent.state import AgentState
from mimir.domain import Binding, Resolution

#: The batch policy for ambiguous references, recorded in ``Answer.policy_notes``.
BATCH_POLICY = "the resolver's preferred reading; a phrase with none is left unbound"
#: Reasons of mentions the tools settle (a classifier reads the pixels): never asked about.
_TOOL_DECIDES = ("decide from the pixels", "no metadata")


def tool_decides(binding: Binding) -> bool:
    """True for attribute mentions without metadata ('the FLAIR'): the classifiers resolve these."""
    return any(r in binding.reason for r in _TOOL_DECIDES)


#: Reason of an attribute mention some images lack metadata for ('the T1' when one header is missing).
_METADATA_INCOMPLETE = "metadata incomplete"


def _kept_unbound(binding: Binding, state: AgentState) -> bool:
    """True for a phrase with no preferred reading that batch mode leaves unbound rather than guess.

    Not "the other" among two images ("larger compared to the other": the question's reading relates
    the two), and not an attribute whose metadata is incomplete (the classifiers settle it).
    """
    other_of_two = len(state["case"].images) == 2 and bool(voc.find(binding.mention, "exclusion"))
    return not binding.image_indices and not other_of_two and _METADATA_INCOMPLETE not in binding.reason


def resolve(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the timeline resolver; on ambiguity interrupt (interactive) or apply the batch policy.

    Everything before ``interrupt()`` is a pure function of the state, so re-running this node on
    resume is safe.
    """
    from mimir.memory.resolver import resolve as resolve_case

    emit("step_started", node="resolve")
    resolution = resolve_case(state["case"])
    notes: list[str] = []
    bindings: list[Binding] = []
    settled = state.get("settled") or {}
    for b in resolution.bindings:
        if b.mention in settled:
            bindings.append(b.model_copy(update={"image_indices": settled[b.mention], "candidates": [], "confidence": 1.0,
                                                 "reason": "bound to a study of the patient's timeline"}))
            continue
        if not b.candidates or tool_decides(b):
            bindings.append(b)
            continue
        if runtime.context.batch and _kept_unbound(b, state):  # guessing a reading would answer another question
            notes.append(f"'{b.mention}' binds no image ({b.reason}); left unbound ({BATCH_POLICY})")
            bindings.append(b.model_copy(update={"candidates": [], "unbound": True}))
            continue
        if runtime.context.batch:
            choice = b.image_indices
            notes.append(f"'{b.mention}' was ambiguous between {b.candidates}; took {choice} ({BATCH_POLICY})")
        else:
            choice = _ask(state, b)
        bindings.append(b.model_copy(update={"image_indices": choice, "candidates": [], "confidence": 1.0,
                                             "reason": f"{b.reason}; chosen {choice}".lstrip("; ")}))
    resolved = Resolution(bindings=bindings, ambiguous=any(b.candidates for b in bindings))
    emit("step_finished", node="resolve", bindings=[b.model_dump(mode="json") for b in bindings])
    return {"resolution": resolved, "policy_notes": notes}


def _ask(state: AgentState, binding: Binding) -> list[int]:
    """Pause the thread until a person picks a candidate (an index into candidates or image indices)."""
    images = state["case"].images
    choice = interrupt({
        "node": "resolve", "mention": binding.mention, "reason": binding.reason,
        "candidates": [{"option": k, "image_indices": c,
                        "images": [{"index": i, "path": images[i].path, "image_id": images[i].image_id,
                                    "study_date": str(images[i].study_date or "")} for i in c]}
                       for k, c in enumerate(binding.candidates)],
    })
    return _parse_choice(choice, binding)


def _parse_choice(choice: Any, binding: Binding) -> list[int]:
    if isinstance(choice, dict):
        choice = choice.get("image_indices", choice.get("option"))
    if isinstance(choice, int) and 0 <= choice < len(binding.candidates):
        return list(binding.candidates[choice])
    if isinstance(choice, list) and choice in binding.candidates:
        return list(choice)
    raise ValueError(f"Resume choice {choice!r} is not one of the candidates of '{binding.mention}': "
                     f"give an option number 0..{len(binding.candidates) - 1} or one of {binding.candidates}")
