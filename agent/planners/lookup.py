"""Questions answered from the timeline index: similar cases and their course, or this patient's priors.

"Have we seen similar cases, and how did they evolve?", "which prior studies does this patient have?":
a capability that retrieves similar cases (or priors) runs on the current image (the latest one of
the case); the answer cites each study it found, its date and what came after it. Cases of other
patients are cited by study, never by name, and their images are not added to this question.
"""

from __future__ import annotations

from mimir import vocabulary as voc
from mimir.agent.planners import common
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.frame import named_images
from mimir.agent.state import Draft
from mimir.domain import Evidence
from mimir.tools.framework.capabilities import CapabilityKind, PriorsReading, SimilarReading, StudyReading

_KINDS: dict[str, CapabilityKind] = {"similar": "retrieves_similar", "priors": "retrieves_priors"}


def plan(view: PlanView) -> Decision | None:
    """The retrieval call, then the answer citing what it found; None when the question asks no look-up."""
    asked = voc.lookups_asked(view.question.stem)
    if len(asked) != 1 or not view.case.images:
        return None
    kind = _KINDS[asked[0]]
    offers = view.offers.find(kind)
    if not offers:
        what = "retrieves similar cases" if kind == "retrieves_similar" else "retrieves prior studies"
        return common.abstain(view.offers.why_missing(kind, what))
    index = (named_images(view) or [_current(view)])[-1]
    call = offers[0].call(f"{asked[0]} for image {index + 1}", image_index=index)
    record = view.record_for(call)
    if record is None:
        return [call]
    if kind == "retrieves_similar" and (similar := record.read(SimilarReading)) is not None:
        return _similar(similar, common.run_ids(record))
    if kind == "retrieves_priors" and (priors := record.read(PriorsReading)) is not None:
        return _priors(priors, common.run_ids(record))
    return common.abstain(f"the look-up failed: {record.error}")


def _current(view: PlanView) -> int:
    images = view.case.images
    if all(i.study_date for i in images):
        return max(range(len(images)), key=lambda i: (images[i].study_date, i))
    return len(images) - 1


def _study(s: StudyReading) -> str:
    what = f" ({s.description})" if s.description else ""
    return f"{s.modality or 'a'} study of {s.study_date or 'unknown date'}{what} [study {s.study_id}]"


def _similar(found: SimilarReading, ids: list[int]) -> Draft:
    if not found.cases:
        return Draft(text=f"No similar cases of other patients are in the timeline index for the {_study(found.study)}.",
                     evidence=[Evidence(statement="similar cases: none found", tool_run_ids=ids)])
    lines, evidence = [], []
    for k, case in enumerate(found.cases, 1):
        later = ", ".join(str(s.study_date or "undated") for s in case.later) or "no later studies"
        course = "; ".join(f"{c.label}: " + " -> ".join(f"{p.value:g} {p.unit or ''}".strip() for p in c.steps
                                                          if p.value is not None) for c in case.course if c.steps)
        line = f"{k}. {_study(case.study)}; later: {later}" + (f"; course: {course}" if course else "")
        lines.append(line)
        evidence.append(Evidence(statement=f"similar case {k}: {line}", tool_run_ids=ids,
                                 values={"study_id": case.study.study_id, "later_studies": len(case.later)}))
    text = (f"{len(found.cases)} similar case(s) of other patients for the {_study(found.study)}:\n" + "\n".join(lines)
            + f"\nCited: {', '.join(found.cites)}")
    return Draft(text=text, evidence=evidence)


def _priors(found: PriorsReading, ids: list[int]) -> Draft:
    if not found.priors:
        return Draft(text=f"No prior study before the {_study(found.study)} is in the timeline.",
                     evidence=[Evidence(statement="prior studies: none", tool_run_ids=ids)])
    lines = [f"{k}. {_study(s)}" for k, s in enumerate(found.priors, 1)]
    evidence = [Evidence(statement=f"prior {k}: {_study(s)}", tool_run_ids=ids, values={"study_id": s.study_id})
                for k, s in enumerate(found.priors, 1)]
    return Draft(text=f"{len(found.priors)} prior stud(ies) before the {_study(found.study)}:\n" + "\n".join(lines),
                 evidence=evidence)
