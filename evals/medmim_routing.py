"""Ability and first route of every real Med-MIM question, per file, as the rules planner decides them.

The ability comes from :func:`mimir.agent.question_kind.ability_of` (the question's structure); the route
from :func:`mimir.agent.planners.rules.intent_route` over the question's intents
(:func:`mimir.agent.intents.read_question`): what the planner asks first before any tool runs.
A look-up question (similar cases, prior studies) is routed to retrieval before its intents are read.
No image is opened; only the question texts are read::

    python -m mimir.evals.medmim_routing ../shared/medmim    # prints the Markdown table of docs/agent.md
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from mimir import vocabulary as voc
from mimir.agent.intents import read_question
from mimir.agent.planners.rules import intent_route
from mimir.agent.question_kind import ability_of
from mimir.domain import ABILITIES, ParsedQuestion
from mimir.evals.loader import MEDMIM_SUBSETS, load_medmim

ROUTES = ("measure", "identify", "presence", "look-up", "vlm", "abstain")


def route_of(question: ParsedQuestion) -> tuple[str, str]:
    """(ability, first route) of one question."""
    ability = ability_of(question)
    if len(voc.values_in(question.stem, "lookup")) == 1:
        return ability, "look-up"
    return ability, intent_route(read_question(question.stem, question.options), ability)


def routing_table(medmim_dir: Path) -> dict[str, Counter[str]]:
    """Per subset: counts of each ability (``ability:<name>``) and each route (``route:<name>``)."""
    out: dict[str, Counter[str]] = {}
    for it in load_medmim(medmim_dir):
        ability, route = route_of(ParsedQuestion(stem=it.stem, options=it.options))
        counts = out.setdefault(it.subset, Counter())
        counts.update({f"ability:{ability}": 1, f"route:{route}": 1, "n": 1})
    return out


def markdown(table: dict[str, Counter[str]]) -> str:
    """The table as Markdown: one row per file, shares of abilities and routes."""
    head = ["file (benchmark ability)", "n", *ABILITIES, *ROUTES]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for info in MEDMIM_SUBSETS:
        c = table.get(info.subset)
        if not c:
            continue
        name = info.file.removeprefix("Med_MIM_benchmark_").removesuffix(".json")
        shares = [f"{c[f'ability:{a}'] / c['n']:.3f}" for a in ABILITIES] + [f"{c[f'route:{r}'] / c['n']:.3f}" for r in ROUTES]
        lines.append(f"| {name} ({info.ability}) | {c['n']} | " + " | ".join(shares) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the routing table of the Med-MIM files in the given folder."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path("../shared/medmim")
    sys.stdout.write(markdown(routing_table(folder)) + "\n")


if __name__ == "__main__":
    main()
