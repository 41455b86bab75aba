"""The deterministic planner (the default): question + image metadata + declared capabilities -> plan.

- a look-up in the timeline ("have we seen similar cases, and how did they evolve?", "which prior
  studies ...?"): a capability that retrieves similar cases or priors, citing each study it found
  (:mod:`~mimir.agent.planners.lookup`);
- a quantity of each image that a tool declares it measures ("which image has the larger file
  size?"): that tool on every image, then the option (:mod:`~mimir.agent.planners.quantities`);
- temporal / comparison: a capability that segments the finding on that modality on every compared
  image, the lesion sizes, the change, the option (:mod:`~mimir.agent.planners.sizes`);
- co-reference: timeline metadata when present, else a capability that classifies the attribute on
  every image, then the option naming the right image (:mod:`~mimir.agent.planners.coref`);
- reasoning and anything else that needs visual judgement: a capability that answers visually if
  one is here, else abstain.

The planner sees capabilities, never tool or bundle names: a tool registered with a declaration is
used without changes here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from mimir.agent.intents import Intent, read_question
from mimir.agent.planners import common, compound, coref, lookup, presence, quantities, sizes
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.common import visual
from mimir.agent.state import Draft


class RulesPlanner:
    """No model: routes by the question's kind to the capabilities that can answer it."""

    name = "rules"

    def next(self, view: PlanView) -> Decision:
        """The next calls or the final draft for this turn."""
        if (unbound := next((b for b in view.resolution.bindings if b.unbound), None)) is not None:
            return common.abstain(f"'{unbound.mention}' names no image: {unbound.reason}")
        decision = lookup.plan(view) or quantities.plan(view)
        if decision is None:
            decision = by_intent(view, read_question(view.question.stem, view.question.options, len(view.case.images)))
        if decision is None:
            return visual(view, why=f"this {view.ability} question")
        if isinstance(decision, Draft) and decision.status == "abstained" and view.vlm_configured:
            return visual(view, why=decision.reason or "this question")  # next-best route: the VLM
        return decision


Route = Literal["measure", "identify", "presence", "vlm", "abstain"]


def intent_route(parts: list[Intent], ability: str) -> Route:
    """Which tools a question's intents go to first: measurement, labels, a finding's presence, the VLM, or none.

    The ability (from the question's structure) decides only where the intents do not. A compound
    question goes where all its parts can be answered; a part that needs visual judgement sends it
    to the VLM.
    """
    kinds = {p.kind for p in parts}
    if any(p.frame == "unread" for p in parts):
        return "abstain"
    if len(parts) > 1:
        return "vlm" if "visual" in kinds else "identify" if kinds <= _IDENTIFY else "measure" \
            if kinds <= {"change", "resection"} else "abstain"
    if kinds <= _MEASURE:
        return "measure"
    if kinds <= _IDENTIFY:
        return "identify"
    if ability == "coreference":
        return "presence"  # "which image shows signs of cancer?": a finding, not a label
    return "measure" if ability in ("temporal", "comparison") else "vlm"


_MEASURE = frozenset({"change", "resection", "extreme"})
_IDENTIFY = frozenset({"identify", "attribute", "when"})


def by_intent(view: PlanView, parts: list[Intent]) -> Decision | None:
    """The route of what the question asks (its intents); the ability decides only where the words do not."""
    route = intent_route(parts, view.ability)
    if route == "abstain" and (k := next((k for k, p in enumerate(parts, 1) if p.frame == "unread"), 0)):
        why = parts[k - 1].why or ("it asks about a statement without a judgement mimir reads (true or false), "
                                   "so no yes or no can be given")
        return common.abstain(f"part {k} ('{parts[k - 1].text}'): {why}")
    if len(parts) > 1:
        return compound.plan(view, parts)
    intent = parts[0]
    if route == "measure":
        return sizes.plan(view, intent if intent.kind in _MEASURE else replace(intent, kind="change"))
    if route == "identify":
        return coref.plan(view, intent)
    if route == "presence":
        return presence.plan(view)
    return None
