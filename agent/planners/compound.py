"""Compound questions: every part answered, or the answer says which part could not be.

"Has it grown since baseline, and has it grown since the prior?" measures each part's change and
takes the option whose yes/no parts match; "Which image is the FLAIR, and which is the T1+C?" reads
image-label pairs; a part that needs visual judgement goes to the VLM with the whole question when
one is configured, else the answer abstains naming that part.
"""

from __future__ import annotations

from mimir.agent import yes_no
from mimir.agent.intents import Intent
from mimir.agent.meaning import parts_by_quantifier, read_options, the_one
from mimir.agent.planners import common, coref, sizes
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.state import Draft, PlannedCall
from mimir.domain import Evidence


def plan(view: PlanView, parts: list[Intent]) -> Decision | None:
    """Calls for every part, then the option matching them all; None hands over to the visual route."""
    kinds = {p.kind for p in parts}
    if "visual" in kinds:
        if view.vlm_configured:
            return None
        k, part = next((k, p) for k, p in enumerate(parts, 1) if p.kind == "visual")
        return common.abstain(f"part {k} of the question ('{part.text}') needs visual judgement and no VLM is "
                              f"configured; the other part{'s' if len(parts) > 2 else ''} alone cannot pick an option")
    if kinds <= {"identify", "attribute", "when"}:
        return coref.plan(view, parts[0])
    if kinds <= {"change", "resection"}:
        return _changes(view, parts)
    return common.abstain("the question mixes parts of different kinds, which are answered one at a time")


def _changes(view: PlanView, parts: list[Intent]) -> Decision | None:
    measured = [sizes.measure(view, p) for p in parts]
    calls: list[PlannedCall] = []
    for m in measured:
        if m is None or isinstance(m, Draft):
            return m
        if isinstance(m, list):
            calls += [c for c in m if c not in calls]
    if calls:
        return calls
    done = [m for m in measured if isinstance(m, sizes.Measured)]
    truths = [yes_no.holds(p, m.change) for p, m in zip(parts, done, strict=True)]
    evidence = [e for m in done for e in m.evidence]
    evidence += [Evidence(statement=f"part {k} ('{p.text}'): {'yes' if t else 'no'}", values={"part": k})
                 for k, (p, t) in enumerate(zip(parts, truths, strict=True), 1) if t is not None]
    unread = [k for k, t in enumerate(truths, 1) if t is None]
    if unread:
        return common.abstain(f"part {unread[0]} asserts no change that can be checked", evidence)
    if not view.question.closed:
        text = "; ".join(f"{p.text.rstrip('?')}: {'yes' if t else 'no'}" for p, t in zip(parts, truths, strict=True))
        return Draft(text=text + ".", evidence=evidence)
    meanings = read_options(view.question.options, len(view.case.images))
    said = {k: m.parts or parts_by_quantifier(view.question.options[k], [p.text for p in parts]) for k, m in meanings.items()}
    letter = the_one(said, lambda answered: answered == tuple(truths))
    if letter is None:
        return common.abstain("no single option says " + " and ".join("yes" if t else "no" for t in truths), evidence)
    return Draft(letter=letter, text=f"{letter}: {view.question.options[letter]}", evidence=evidence)
