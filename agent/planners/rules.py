"""The deterministic planner (the default): question type + image metadata + available tools -> plan.

- temporal / comparison: segment every image (in parallel), measure the whole lesion, compare, and
  map the change onto the options;
- co-reference: timeline metadata when present, else a classifier on every image, then the option
  naming the right image (see :mod:`mimir.agent.planners.coref`);
- reasoning and anything else that needs visual judgement: the VLM if configured, else abstain.
"""

from __future__ import annotations

from mimir.agent.planners import coref, sizes
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.common import visual
from mimir.agent.state import Draft


class RulesPlanner:
    """No model: a fixed mapping from question kind to tools."""

    name = "rules"

    def next(self, view: PlanView) -> Decision:
        """The next calls or the final draft for this turn."""
        if view.ability in ("temporal", "comparison"):
            decision = sizes.plan(view)
        elif view.ability == "coreference":
            decision = coref.plan(view)
        else:
            decision = None
        if decision is None:
            return visual(view, why=f"this {view.ability} question")
        if isinstance(decision, Draft) and decision.status == "abstained" and view.vlm_configured:
            return visual(view, why=decision.reason or "this question")  # next-best route: the VLM
        return decision

