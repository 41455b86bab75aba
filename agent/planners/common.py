"""Pieces every rules route shares: the visual route, abstention, and ids for evidence."""

from __future__ import annotations

from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.state import Draft, ToolRecord
from mimir.domain import Evidence
from mimir.tools.framework.capabilities import VisualReading
from mimir.tools.ood.gate import DECLINED


def visual(view: PlanView, why: str) -> Decision:
    """Ask a tool that answers visually (once); abstain with the reason when none can or it failed."""
    offers = view.offers.find("answers_visually")
    if not offers:
        missing = view.offers.why_missing("answers_visually", "answers questions by looking at images")
        return abstain(declined(view) + f"{why} needs visual judgement and no VLM is configured ({missing})")
    args: dict[str, object] = {"question": view.question.stem, "image_indices": list(range(len(view.case.images)))}
    if view.question.closed:
        args["options"] = dict(view.question.options)
    call = offers[0].call("visual judgement", **args)
    record = view.record_for(call)
    if record is None:
        return [call]
    reading = record.read(VisualReading)
    if reading is None:
        return abstain(declined(view) + f"{why} needs visual judgement and the VLM failed: {record.error}")
    letter, text = reading.letter, reading.text
    if view.question.closed and letter not in view.question.options:
        return abstain(f"the VLM's answer named no option ({text[:80]!r})")
    return Draft(letter=letter, text=text or f"{letter}: {view.question.options.get(str(letter), '')}")


def declined(view: PlanView) -> str:
    """'image 2: expert 'x' declined: ...; ' for every input an expert declined this turn, else ''."""
    if not view.records:
        return ""
    turn = max(r.turn for r in view.records)
    notes = [f"image {int(r.call.args['image_index']) + 1}: {r.error}" if isinstance(r.call.args.get("image_index"), int)
             else str(r.error) for r in view.records if r.turn == turn and r.error and DECLINED in r.error]
    return "".join(f"{n}; " for n in dict.fromkeys(notes))


def abstain(reason: str, evidence: list[Evidence] | None = None) -> Draft:
    """An explicit abstention (with whatever was measured on the way)."""
    return Draft(status="abstained", text=f"I cannot answer this reliably: {reason}.", reason=reason,
                 evidence=evidence or [])


def run_ids(record: ToolRecord) -> list[int]:
    """The timeline ToolRun id of a record, as evidence cites it."""
    return [record.step.tool_run_id] if record.step.tool_run_id is not None else []
