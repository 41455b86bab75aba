"""Questions about a measurable quantity of each image ("Which image has the larger file size?").

The quantity is read from the question; a finding (tumour, haemorrhage, lesion) goes to the lesion
route, anything else to the tools that declare they measure it. When none does, the answer says
which capability is missing. Nothing here names a tool.
"""

from __future__ import annotations

import re
from functools import cache

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.agent.offers import Offer
from mimir.agent.planners import common, words
from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.frame import named_images
from mimir.agent.state import Draft, PlannedCall
from mimir.domain import Evidence


@cache
def _which() -> re.Pattern[str]:
    """"which [of the X] image has the larger Q": the direction word and the quantity."""
    direction = f"(?:{voc.pattern('superlative')}|{voc.pattern('comparative')})"
    noun = f"(?:{voc.pattern('image_noun')}|{voc.pattern('modality')}|{voc.pattern('cardinal', '1')})"
    det = voc.pattern("determiner")
    return re.compile(rf"{voc.pattern('wh_word')}\s+(?:of\s+{det}\s+(?:\w+\s+)?)?{noun}?\s*"
                      rf"(?:\w+\s+)?{voc.pattern('holds')}\s+(?:{det}\s+|a\s+)?(?P<dir>{direction})\s+"
                      rf"(?P<q>[a-z][\w\s-]*?)\s*(?:\?|$|,|\.|\bthan\b)", re.I)


@cache
def _what() -> re.Pattern[str]:
    """"what is the Q of each image": the quantity."""
    noun = f"(?:{voc.pattern('image_noun')}|{voc.pattern('modality')})"
    return re.compile(rf"\bwhat\s+is\s+the\s+(?P<q>[a-z][\w\s-]*?)\s+of\s+(?:{voc.pattern('determiner')}\s+)?"
                      rf"(?:\w+\s+)?{noun}", re.I)


def asked_quantity(stem: str) -> tuple[str, str | None] | None:
    """(quantity, 'more'/'less' or None) the stem asks about per image, or None."""
    if (m := _which().search(stem)) and not any(t.start == m.start("dir") for t in voc.find(stem, "time")):
        d = m.group("dir")  # "the most recent study date" grades a visit: no quantity
        more = voc.superlative_of(d) == "most" or voc.comparative_of(d) == "more"
        return m.group("q").strip(), "more" if more else "less"  # case kept: "ICH" is an abbreviation, "ich" is not
    if m := _what().search(stem):
        return m.group("q").strip(), None
    return None


def _is_lesion_size(view: PlanView, quantity: str) -> bool:
    """True when the quantity is a finding's size ("lesion", "tumour burden") or only an amount ("size", "one")."""
    if words.findings_named(quantity) or any(_matches(o, quantity) for o in view.offers.find("segments")):
        return True
    rest = quantity.lower()
    for m in sorted(voc.find(rest, "quantity", "image_noun"), key=lambda m: -m.start):
        rest = rest[:m.start] + rest[m.end:]
    rest = " ".join(w for w in re.findall(r"[a-z]+", rest) if voc.cardinal_value(w) is None)
    return not rest


def _matches(offer: Offer, quantity: str) -> bool:
    target, quantity = offer.capability.target.lower(), quantity.lower()
    return target == quantity or bool(re.search(rf"\b{re.escape(target)}\b", quantity)) or bool(
        re.search(rf"\b{re.escape(quantity)}\b", target))


def plan(view: PlanView) -> Decision | None:
    """Calls of the tools that measure the asked quantity, then the answer; None when no quantity is asked."""
    asked = asked_quantity(view.question.stem)
    if asked is None:
        return None
    quantity, direction = asked
    if _is_lesion_size(view, quantity):
        return None  # a lesion's size: the lesion route measures it
    if direction is None and voc.find(quantity, "attribute_noun"):
        return None  # "what is the sequence of image 1?": an attribute the classifiers read, not a quantity
    offers = [o for o in view.offers.find("measures") if _matches(o, quantity)]
    if not offers:
        reason = view.offers.why_missing("measures", f"measures '{quantity}'")
        return common.visual(view, why=reason) if view.vlm_configured else common.abstain(reason)
    order = named_images(view) or list(range(len(view.case.images)))
    values: dict[int, float] = {}
    calls: list[PlannedCall] = []
    for i in order:
        call = offers[0].call(f"{quantity} of image {i + 1}", image_index=i)
        record = view.record_for(call)
        if record is None:
            calls.append(call)
        elif (value := _value(offers[0], record.result)) is not None:
            values[i] = value
        else:
            return common.abstain(f"{offers[0].tool} gave no {quantity} for image {i + 1}: {record.error or 'no number'}")
    return calls or _answer(view, quantity, direction, values, offers[0])


def _value(offer: Offer, result: dict[str, object] | None) -> float | None:
    """The declared field of a result, read through the tool's own result model."""
    if result is None or offer.output_model is None or offer.capability.field is None:
        return None
    value = getattr(offer.output_model.model_validate(result), offer.capability.field, None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _answer(view: PlanView, quantity: str, direction: str | None, values: dict[int, float], offer: Offer) -> Draft:
    unit = offer.capability.unit or ""
    evidence = [Evidence(statement=f"Image {i + 1}: {quantity} {v:g} {unit}".rstrip(), image_indices=[i],
                         values={"value": v, "unit": unit, "source": offer.tool}) for i, v in values.items()]
    ranked = sorted(values, key=lambda i: values[i], reverse=direction != "less")
    if direction is not None and len(ranked) >= 2 and values[ranked[0]] == values[ranked[1]]:
        return common.abstain(f"images {ranked[0] + 1} and {ranked[1] + 1} have the same {quantity}", evidence)
    text = "; ".join(e.statement for e in evidence)
    if direction is not None:
        text = f"Image {ranked[0] + 1} has the {'largest' if direction == 'more' else 'smallest'} {quantity}. {text}."
    if not view.question.closed:
        return Draft(text=text, evidence=evidence)
    letter = opt.letter_for_image(view.question.options, ranked[0], len(view.case.images)) if direction else None
    if letter is None:
        return common.abstain(f"the measured {quantity} matches no single option", evidence)
    return Draft(letter=letter, text=f"{letter}: {view.question.options[letter]}", evidence=evidence)
