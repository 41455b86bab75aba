"""Temporal and comparison questions: segment each image, measure, compare, map to the options."""

from __future__ import annotations

import re

from mimir.agent import options as opt
from mimir.agent.planners import common
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.readings import RESIDUAL_MIN, change_between, change_from_compare, lesion_size
from mimir.agent.state import Draft, PlannedCall, ToolRecord

from mimir.domain import Evidence


def targets(view: PlanView) -> list[int]:
    """The images to measure: those the question binds (two or more), else all, in time order."""
    bound = sorted({i for b in view.resolution.bindings for i in b.image_indices})
    idx = bound if len(bound) >= 2 else list(range(len(view.case.images)))
    dated = all(view.case.images[i].study_date for i in idx)
    return sorted(idx, key=lambda i: view.case.images[i].study_date) if dated else idx  # type: ignore[arg-type, return-value]


def experts_for(view: PlanView, index: int) -> list[str | None]:
    """Segmentation experts to try on one image, best first (None lets the tool choose)."""
    hint = common.modality_hint(view, index)
    return [common.SEGMENTATION_EXPERTS[hint]] if hint else [None]


def plan(view: PlanView) -> Decision | None:
    """Segmentation calls still needed, else the answer; None hands over to the visual route."""
    if "segment" not in view.available:
        return None
    sizes: dict[int, ToolRecord] = {}
    calls: list[PlannedCall] = []
    for i in targets(view):
        done = [r for r in view.results("segment") if r.call.args.get("image_index") == i]
        if done:
            sizes[i] = done[-1]
            continue
        todo = [PlannedCall(tool="segment", args={"image_index": i, "expert": e}, purpose=f"lesion size, image {i + 1}")
                for e in experts_for(view, i)]
        untried = [c for c in todo if not view.attempted(c)]
        if not untried:
            return None  # every expert failed on this image: the visual route decides
        calls.append(untried[0])
    if calls:
        return calls
    return conclude(view, sizes)


def conclude(view: PlanView, records: dict[int, ToolRecord]) -> Decision | None:
    """Turn per-image sizes into a change and pick the option."""
    order = list(records)
    values = {i: lesion_size(records[i].result or {}) for i in order}
    if any(v is None for v in values.values()):
        return None
    sized = {i: v[0] for i, v in values.items() if v is not None}
    unit = next(v[1] for v in values.values() if v is not None)
    evidence = [Evidence(statement=f"Image {i + 1}: whole lesion {sized[i]:.1f} {unit}",
                         tool_run_ids=_ids(records[i]), image_indices=[i], values={"size": round(sized[i], 3), "unit": unit})
                for i in order]
    change, pct = change_between(sized[order[0]], sized[order[-1]])
    if _asks_resection(view):
        change = _resection(records[order[-1]], unit, evidence)
    compared = view.results("compare")
    if compared and (c := change_from_compare(compared[-1].result or {})) is not None:
        change = c
    pct_text = f"{pct:+.0f}%" if pct is not None else "new"
    evidence.append(Evidence(statement=f"From image {order[0] + 1} to image {order[-1] + 1}: {change} ({pct_text})",
                             image_indices=[order[0], order[-1]],
                             values={"change": change, "percent_change": round(pct, 1) if pct is not None else "n/a"}))
    return choose(view, sized, change, evidence)


def choose(view: PlanView, sized: dict[int, float], change: opt.Change, evidence: list[Evidence]) -> Draft:
    """The option for this change (or the text answer of an open question)."""
    options, n = view.question.options, len(view.case.images)
    if not view.question.closed:
        return Draft(text=describe(sized, change, evidence), evidence=evidence)
    letter = opt.letter_for_change(options, change)
    if letter is None and any(opt.image_of(v, n) is not None for v in options.values()):
        want_small = bool(re.search(r"\b(smaller|less|least|decreas|shrunk)", view.question.stem, re.I))
        pick = (min if want_small else max)(sized, key=lambda i: sized[i])
        letter = opt.letter_for_image(options, pick, n)
    if letter is None and any(opt.yes_no(v) is not None for v in options.values()):
        asked = opt.change_of(view.question.stem)
        if asked is not None:
            truth = asked == change
            letter = opt.pick(options, lambda v: opt.yes_no(v) is truth)
    if letter is None:
        return common.abstain(f"the measured change ({change}) matches no single option", evidence)
    return Draft(letter=letter, text=f"{letter}: {options[letter]}", evidence=evidence)


_WORDS = {"increase": "larger (progressing)", "decrease": "smaller (improving)", "stable": "about the same size (stable)",
          "gross_total": "gone from the enhancing region (gross-total resection)",
          "partial": "partly left (partial resection)", "new": "new", "resolved": "no longer visible (resolved)"}


def describe(sized: dict[int, float], change: opt.Change, evidence: list[Evidence]) -> str:
    """An open answer: the change in words, then the sizes."""
    order = list(sized)
    unit = evidence[0].values.get("unit", "")
    sizes = " -> ".join(f"{sized[i]:.1f} {unit} (image {i + 1})" for i in order)
    return f"The lesion is {_WORDS[change]} on image {order[-1] + 1} compared with image {order[0] + 1}: {sizes}."


def _asks_resection(view: PlanView) -> bool:
    return any(opt.change_of(v) in ("gross_total", "partial") for v in view.question.options.values()) or bool(
        re.search(r"resect", view.question.stem, re.I))


def _resection(post: ToolRecord, unit: str, evidence: list[Evidence]) -> opt.Change:
    """Gross-total when no enhancing tumour is left on the post-operative image, else partial."""
    residual = (lesion_size(post.result or {}, enhancing_only=True) or (0.0, unit))[0]
    change: opt.Change = "gross_total" if residual <= RESIDUAL_MIN[unit] else "partial"
    i = post.call.args.get("image_index", 0)
    evidence.append(Evidence(statement=f"Residual enhancing tumour on image {i + 1}: {residual:.1f} {unit} -> {change}",
                             tool_run_ids=_ids(post), image_indices=[i], values={"residual": round(residual, 3)}))
    return change


def _ids(record: ToolRecord) -> list[int]:
    return [record.step.tool_run_id] if record.step.tool_run_id is not None else []
