"""Temporal and comparison questions: segment each image, measure, compare, map to the options."""

from __future__ import annotations

import re

from mimir.agent import options as opt
from mimir.agent.planners import common
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.readings import RESIDUAL_MIN, change_between, lesion_size
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
    if (call := compare_call(view, sizes)) is not None and not view.attempted(call):
        return [call]
    return conclude(view, sizes)


def compare_call(view: PlanView, records: dict[int, ToolRecord]) -> PlannedCall | None:
    """``compare`` over the timepoints (RECIST on the longest diameter in 2D, volume in 3D), if available."""
    if "compare" not in view.available or len(records) < 2:
        return None
    points = []
    for i, rec in records.items():
        items = [m for m in (rec.result or {}).get("measurements", []) if m.get("value") != 0]
        date = view.case.images[i].study_date
        point: dict[str, object] = {"timepoint": str(date) if date else f"image {i + 1}", "image_index": i}
        size = lesion_size(rec.result or {})
        if size is not None and size[1] == "mL":
            point["volume_ml"] = round(size[0], 4)
        else:
            target = (rec.result or {}).get("index_lesion")
            longest = float(target["longest_diameter_mm"]) if target else max(
                (float(m.get("longest_diameter_mm") or 0.0) for m in items), default=0.0)
            point["sum_diameters_mm"] = round(longest, 3)
        points.append(point)
    return PlannedCall(tool="compare", args={"label": "lesion", "timepoints": points}, purpose="change over timepoints")


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
    if max(sized.values()) <= 0.0:
        return common.abstain("the segmentation found no lesion on any image, so there is nothing to compare", evidence)
    change, pct = change_between(sized[order[0]], sized[order[-1]], unit)
    if _asks_resection(view):
        resected = _resection(records[order[0]], records[order[-1]], unit, evidence)
        if resected is None:
            return common.abstain("the segmentation shows no enhancing tumour before surgery, so the extent of "
                                  "resection cannot be judged from it", evidence)
        change = resected
    for rec in view.results("compare")[-1:]:
        for ch in (rec.result or {}).get("changes", []):
            evidence.append(Evidence(
                statement=f"compare ({(rec.result or {}).get('standard', 'RECIST')}): {ch.get('quantity')} "
                          f"{ch.get('baseline')} -> {ch.get('last')} {ch.get('unit')}, category {ch.get('category')}",
                tool_run_ids=_ids(rec), image_indices=list(records),
                values={"category": str(ch.get("category")), "percent_change": ch.get("percent_change") or "n/a"}))
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
        ranked = sorted(sized, key=lambda i: sized[i], reverse=not want_small)
        if sized[ranked[0]] != sized[ranked[1]]:
            letter = opt.letter_for_image(options, ranked[0], n)
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


def _resection(pre: ToolRecord, post: ToolRecord, unit: str, evidence: list[Evidence]) -> opt.Change | None:
    """Gross-total when no enhancing tumour is left on the post-operative image, else partial.

    None when the pre-operative image shows no enhancing tumour: the segmentation is then not
    trustworthy for this question (an enhancing tumour is what was resected).
    """
    before = (lesion_size(pre.result or {}, enhancing_only=True) or (0.0, unit))[0]
    if before <= RESIDUAL_MIN[unit]:
        return None
    residual = (lesion_size(post.result or {}, enhancing_only=True) or (0.0, unit))[0]
    change: opt.Change = "gross_total" if residual <= RESIDUAL_MIN[unit] else "partial"
    i = post.call.args.get("image_index", 0)
    evidence.append(Evidence(statement=f"Residual enhancing tumour on image {i + 1}: {residual:.1f} {unit} -> {change}",
                             tool_run_ids=_ids(post), image_indices=[i], values={"residual": round(residual, 3)}))
    return change


def _ids(record: ToolRecord) -> list[int]:
    return [record.step.tool_run_id] if record.step.tool_run_id is not None else []
