"""Temporal and comparison questions: segment the compared images, measure, compare, map to the options.

The images come from :func:`frame_of` (the ones the question names, in time order). Each is
segmented by a capability that segments the finding the question asks about on that modality; the
sizes are read through :class:`SegmentationReading`. When a capability that compares over time is
available it adds response categories to the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.agent import yes_no
from mimir.agent.ellipsis import compares_with_image
from mimir.agent.intents import Intent
from mimir.agent.meaning import SIZE_CHANGES, OptionMeaning, doubts, read_options, the_one
from mimir.agent.offers import Offer
from mimir.agent.planners import common, routing, words
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.frame import (
    EVERY_IMAGE,
    Frame,
    answers_a_change,
    frame_of,
    same_study,
    sequence_clash,
    unbound_place,
)
from mimir.agent.planners.readings import (
    STABLE_RATIO,
    change_between,
    lesion_size,
    longest_diameter,
)
from mimir.agent.state import Draft, PlannedCall, ToolRecord
from mimir.domain import Evidence
from mimir.tools.analysis.geometry import RESIDUAL_MIN
from mimir.tools.framework.capabilities import ClassificationReading, ComparisonReading, SegmentationReading


@dataclass
class Measured:
    """The sizes of a frame's images and the change between its ends."""

    frame: Frame
    values: dict[int, float]
    unit: str
    change: opt.Change
    evidence: list[Evidence]


def plan(view: PlanView, intent: Intent) -> Decision | None:
    """Calls still needed, else the answer; None hands over to the visual route."""
    measured = measure(view, intent)
    if not isinstance(measured, Measured):
        return measured
    return choose(view, intent, measured)


def measure(view: PlanView, intent: Intent) -> list[PlannedCall] | Measured | Draft | None:
    """Segmentation (and sequence check) calls still needed for the part's frame, else what was measured."""
    frame = frame_of(view, intent.text)
    if frame.why == EVERY_IMAGE and (place := unbound_place(view, intent.text)) is not None:
        return common.abstain(f"'{place}' names an image mimir could not bind in this question; comparing every "
                              "image instead could answer another question")
    over_time = intent.kind in ("change", "resection") or intent.kind != "extreme" and answers_a_change(view)
    if over_time and same_study(view.case.images, frame.order):
        date = view.case.images[frame.order[0]].study_date
        return common.abstain(f"images {', '.join(str(i + 1) for i in frame.order)} are all from one study ({date}); "
                              "a change over time needs two visits")
    for i in frame.order:
        if not routing.segmenters(view, i):
            return _no_segmenter(view, i)
    state = routing.segmentations(view, frame.order, "lesion size")
    if state is None:
        return None  # every capable tool failed on some image: the visual route decides
    chosen, records, calls = state
    sequences, checks = _sequences(view, chosen)
    if calls or checks:
        return calls + checks
    if (clash := sequence_clash(view.case.images, frame.order, sequences)) is not None:
        return common.abstain(clash)
    if (call := compare_call(view, frame, records)) is not None and not view.attempted(call):
        return [call]
    return conclude(view, intent, frame, records)


def _no_segmenter(view: PlanView, index: int) -> Draft:
    modality = routing.image_modality(view, index) or "unknown modality"
    unmet = routing.named_findings_unmet(view, view.offers.find("segments"))
    what = f"segments {' or '.join(sorted(unmet)) or 'a lesion'} on {modality} images"
    return common.abstain(view.offers.why_missing("segments", what))


def _sequences(view: PlanView, chosen: dict[int, Offer]) -> tuple[dict[int, str], list[PlannedCall]]:
    """The sequence of each image whose segmenter reads sequences differently (it declares a preference).

    From metadata, else from a capability that classifies the sequence (calls still to make).
    """
    labels: dict[int, str] = {}
    calls: list[PlannedCall] = []
    for i, segmenter in chosen.items():
        if "sequence" not in segmenter.capability.prefers:
            continue
        if (seq := words.sequence_of(view.case.images[i])) is not None:
            labels[i] = seq
            continue
        modalities = segmenter.capability.modalities
        for offer in [o for o in routing.classifiers(view, "sequence", i)
                      if not modalities or set(o.capability.modalities) & set(modalities)][:1]:
            call = offer.call(f"sequence of image {i + 1}", image_index=i)
            record = view.record_for(call)
            reading = record.read(ClassificationReading) if record is not None else None
            if reading is not None:
                labels[i] = reading.label
            elif record is None:
                calls.append(call)
    return labels, calls


def compare_call(view: PlanView, frame: Frame, records: dict[int, ToolRecord]) -> PlannedCall | None:
    """A call of a capability that compares over time (RECIST on diameters in 2D, volume in 3D), if one is here."""
    offers: list[Offer] = view.offers.find("compares_over_time")
    if not offers or len(records) < 2:
        return None
    points = []
    for i in frame.order:
        reading = records[i].read(SegmentationReading)
        if reading is None:
            return None
        date = view.case.images[i].study_date
        point: dict[str, object] = {"timepoint": str(date) if date else f"image {i + 1}", "image_index": i}
        size, unit = lesion_size(reading)
        if unit == "mL":
            point["volume_ml"] = round(size, 4)
        else:
            point["sum_diameters_mm"] = round(longest_diameter(reading), 3)
        points.append(point)
    return offers[0].call("change over timepoints", label="lesion", timepoints=points)


def conclude(view: PlanView, intent: Intent, frame: Frame, records: dict[int, ToolRecord]) -> Measured | Draft | None:
    """Per-image sizes and the change between the frame's ends (the residual for a resection)."""
    readings = {i: records[i].read(SegmentationReading) for i in frame.order}
    if any(r is None for r in readings.values()):
        return None
    sized = {i: lesion_size(r) for i, r in readings.items() if r is not None}
    units = {u for _, u in sized.values()}
    if len(units) > 1:
        return common.abstain("the images were measured as an area on some and a volume on others")
    unit = units.pop()
    values = {i: v for i, (v, _) in sized.items()}
    evidence = [Evidence(statement=f"Image {i + 1}: whole lesion {values[i]:.1f} {unit}", tool_run_ids=common.run_ids(records[i]),
                         image_indices=[i], values={"size": round(values[i], 3), "unit": unit}) for i in frame.order]
    if max(values.values()) <= 0.0:
        return common.abstain("the segmentation found no lesion on any image, so there is nothing to compare", evidence)
    first, last = _ends(frame, values)
    change, pct = change_between(values[first], values[last], unit)
    if intent.kind == "resection" or _asks_resection(view):
        resected = _resection(records[first], records[last], unit, evidence)
        if resected is None:
            return common.abstain("the segmentation shows no enhancing tumour before surgery, so the extent of "
                                  "resection cannot be judged from it", evidence)
        change = resected
    evidence += _compare_evidence(view, frame)
    pct_text = f"{pct:+.0f}%" if pct is not None else "new"
    which = "the nadir, " if frame.reference == "nadir" else ""
    evidence.append(Evidence(statement=f"From image {first + 1} ({which}{_date(view, first)}) to image {last + 1} "
                                       f"({_date(view, last)}): {change} ({pct_text})",
                             image_indices=[first, last],
                             values={"change": change, "percent_change": round(pct, 1) if pct is not None else "n/a"}))
    return Measured(frame, values, unit, change, evidence)


def _ends(frame: Frame, values: dict[int, float]) -> tuple[int, int]:
    last = frame.order[-1]
    if frame.reference == "nadir" and len(frame.order) > 2:
        return min(frame.order[:-1], key=lambda i: values[i]), last
    return frame.order[0], last


def _date(view: PlanView, index: int) -> str:
    d = view.case.images[index].study_date
    return str(d) if d else "undated"


def _compare_evidence(view: PlanView, frame: Frame) -> list[Evidence]:
    out = []
    for rec in view.results("compares_over_time")[-1:]:
        reading = rec.read(ComparisonReading)
        for ch in reading.changes if reading is not None else []:
            pct = ch.percent_change if ch.percent_change is not None else "n/a"
            out.append(Evidence(statement=f"{rec.call.tool} ({reading.standard if reading else ''}): {ch.quantity} {ch.baseline} -> "
                                          f"{ch.last} {ch.unit}, category {ch.category}",
                                tool_run_ids=common.run_ids(rec), image_indices=list(frame.order),
                                values={"category": ch.category, "percent_change": pct}))
    return out


def choose(view: PlanView, intent: Intent, m: Measured) -> Draft:
    """The option fitting what was measured (or the text answer of an open question)."""
    options, n = view.question.options, len(view.case.images)
    if not view.question.closed:
        return Draft(text=describe(m.values, m.change, m.evidence), evidence=m.evidence)
    meanings = read_options(options, n, comparative_is_change=intent.kind == "change", allowed=_allowed(intent),
                            topic="resection" if intent.kind == "resection" else None)
    if intent.kind != "extreme":
        meanings = {k: _over_every_image(v, options[k], m.frame.order) for k, v in meanings.items()}
    imaged = [v for v in meanings.values() if v.images]
    one_reference = len({v.images for v in imaged}) == 1 and all(v.changes for v in imaged)  # "Grown since study A", "Shrunk since study A"
    if intent.kind == "extreme" or imaged and len(imaged) == len(meanings) and not one_reference:
        letter = _extreme(intent, m, meanings)
    elif imaged:
        located = _located(options, meanings, list(m.frame.order))  # "larger on the second": a change said of one image
        letter = yes_no.change_letter(located, m.change) if located else None
    elif {v.answer for v in meanings.values()} == {True, False}:  # a yes and a no ("It is larger" alone is a category)
        letter, why = yes_no.choose(intent, m.change, meanings, options)
        if letter is None:
            return common.abstain(f"{why}{doubts(meanings)}", m.evidence)
    else:
        letter = yes_no.change_letter(meanings, m.change)
    if letter is None:
        return common.abstain(f"the measured change ({m.change}) matches no single option{doubts(meanings)}", m.evidence)
    read = meanings[letter]
    note = [Evidence(statement=f"option {letter} read by meaning as {m.change} (lead {read.by_meaning})",
                     values={"lead": read.by_meaning})] if read.by_meaning is not None else []
    if intent.by_meaning:
        note.append(Evidence(statement=f"the question's {intent.by_meaning}"))
    return Draft(letter=letter, text=f"{letter}: {options[letter]}", evidence=m.evidence + note)


def _over_every_image(meaning: OptionMeaning, text: str, order: list[int]) -> OptionMeaning:
    """A change said of every compared image ("decreasing over the three scans", "stable on each follow-up") names no one image."""
    every = any(m.value == "every" for m in voc.find(text, "determiner"))
    if meaning.images and meaning.changes and (every or set(order) <= set(meaning.images)):
        return replace(meaning, images=())
    return meaning


def _located(options: dict[str, str], meanings: dict[str, OptionMeaning], order: list[int]) -> dict[str, OptionMeaning]:
    """Options that say a change of one image ("larger on the second", "smaller than the first") as changes in time order.

    Of two images measured earlier -> later, "larger on the later one" is an increase and "larger on
    the earlier one" a decrease; an image after a reference cue is what the other is compared with
    ("larger than the first" is an increase). Options naming no image keep their reading ("equal in
    size", "the same on both"). {} when an option names an image but no one size change, or several
    images; when an option that names an image quantifies over parts of a compound question ("grown
    compared with both", "... the first only"); or when three or more images were measured.
    """
    if len(order) != 2 or any(v.images and voc.find(options[k], "quantifier") for k, v in meanings.items()):
        return {}
    flip: dict[opt.Change, opt.Change] = {"increase": "decrease", "decrease": "increase", "stable": "stable"}
    out = {}
    for k, v in meanings.items():
        if not v.images:
            out[k] = v
            continue
        if len(v.images) != 1 or v.images[0] not in order or len(v.changes) != 1 or not v.changes <= SIZE_CHANGES:
            return {}
        change = next(iter(v.changes))
        subject = v.images[0] if not compares_with_image(options[k]) else order[0] if v.images[0] == order[-1] else order[-1]
        out[k] = replace(v, changes=frozenset({change if subject == order[-1] else flip[change]}), images=())
    return out


def _allowed(intent: Intent) -> frozenset[opt.Change]:
    if intent.kind == "resection":
        return frozenset({"gross_total", "partial"})
    return frozenset({"increase", "decrease", "stable"})


def _extreme(intent: Intent, m: Measured, meanings: dict[str, OptionMeaning]) -> str | None:
    """The option naming the image with the most (or least) lesion."""
    want_small = intent.direction == "less" if intent.direction else asks_for_less(intent.text)
    ranked = sorted(m.values, key=lambda i: m.values[i], reverse=not want_small)
    if len(ranked) < 2 or m.values[ranked[0]] == m.values[ranked[1]]:
        return None
    ratio = max(m.values[ranked[0]], m.values[ranked[1]]) / max(min(m.values[ranked[0]], m.values[ranked[1]]), 1e-9)
    if ratio < STABLE_RATIO[m.unit]:
        return None  # the sizes are within measurement noise of each other: no image clearly has more
    return the_one(meanings, lambda v: v.images == (ranked[0],))


def describe(sized: dict[int, float], change: opt.Change, evidence: list[Evidence]) -> str:
    """An open answer: the change in words, then the sizes."""
    order = list(sized)
    unit = evidence[0].values.get("unit", "")
    sizes = " -> ".join(f"{sized[i]:.1f} {unit} (image {i + 1})" for i in order)
    if change in voc.vocabulary().concept("resection"):
        return f"The post-operative image {order[-1] + 1} shows a {voc.name_of('resection', change)}: {sizes}."
    return f"The lesion is {voc.name_of('change', change)} on image {order[-1] + 1} compared with image {order[0] + 1}: {sizes}."


def asks_for_less(stem: str) -> bool:
    """True when the stem asks for the smaller amount ("the smaller lesion", "the lowest burden")."""
    found = [m.value for m in voc.find(stem, "comparative", "superlative") if not m.negated]
    return bool(found) and all(v in ("less", "least") for v in found)


def _asks_resection(view: PlanView) -> bool:
    return any(opt.change_of(v) in ("gross_total", "partial") for v in view.question.options.values()) or bool(
        "resection" in voc.values_in(view.question.stem, "procedure"))


def _resection(pre: ToolRecord, post: ToolRecord, unit: str, evidence: list[Evidence]) -> opt.Change | None:
    """Gross-total when no enhancing tumour is left on the post-operative image, else partial.

    None when the pre-operative image shows no enhancing tumour: the segmentation is then not
    trustworthy for this question (an enhancing tumour is what was resected).
    """
    before_reading, after_reading = pre.read(SegmentationReading), post.read(SegmentationReading)
    if before_reading is None or after_reading is None:
        return None
    before = lesion_size(before_reading, enhancing_only=True)[0]
    if before <= RESIDUAL_MIN[unit]:
        return None
    residual = lesion_size(after_reading, enhancing_only=True)[0]
    change: opt.Change = "gross_total" if residual <= RESIDUAL_MIN[unit] else "partial"
    i = after_reading.image_index
    evidence.append(Evidence(statement=f"Residual enhancing tumour on image {i + 1}: {residual:.1f} {unit} -> {change}",
                             tool_run_ids=common.run_ids(post), image_indices=[i], values={"residual": round(residual, 3)}))
    limit = after_reading.limits.get("residual_on_slice") if change == "gross_total" and unit == "mm2" else None
    if limit:  # no residual found on one slice: what the expert is known to miss there is stated with the answer
        evidence.append(Evidence(statement=f"Doubt about image {i + 1}: {limit}", tool_run_ids=common.run_ids(post),
                                 image_indices=[i], values={"doubt": f"image {i + 1}: {limit}"}))
    return change
