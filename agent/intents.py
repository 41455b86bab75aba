"""What a question asks, part by part: a change, a resection, the image with more or less, which image is X.

A stem is split into its questions ("Which image is the left eye, and does it show exudates?" has
two), and each part is read through the clinical vocabulary into an intent:

- ``change``: how a lesion changed, or (yes/no) whether it did what the part asserts: "has it grown"
  asserts an increase; "has it not grown" stable or smaller; "is it no longer the same size" any
  change but stability;
- ``resection``: the extent of a resection, or whether tumour is left ("residual" asserts partial);
- ``extreme``: which image shows more or less of a finding ("the larger lesion", "the lower burden");
- ``identify``: which image is a label ("the FLAIR", "the left eye"), or is not ("which image is NOT ..."),
  or has several ("the right MLO": a side and a view);
- ``attribute``: what a named image is ("what sequence is image 2", "the left or the right eye?");
- ``when``: which image is the most recent or the baseline, or was taken on a date;
- ``visual``: anything else (a finding to be seen, a diagnosis): a VLM's part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, cast

from mimir import vocabulary as voc
from mimir.agent import ellipsis
from mimir.agent.assertions import Frame, _asked_change, _asserted, statement_frame
from mimir.agent.label_pairs import labels_said, stated_pairs
from mimir.agent.labels import LABELS, asked_label, label_named, premise_and_question, several_labels
from mimir.agent.meaning import CHANGE_OF_COMPARATIVE, Change, option_changes
from mimir.agent.predicate import asserted_by_meaning
from mimir.agent.question_parts import split_parts
from mimir.agent.visit_words import _before_time, _dated, _grades_judgement, _names_a_visit, visit_at_an_end

Kind = Literal["change", "resection", "extreme", "identify", "attribute", "when", "visual"]


@dataclass(frozen=True)
class Intent:
    """One question of a stem, as read."""

    kind: Kind
    text: str
    negated: bool = False
    asserted: frozenset[Change] = frozenset()
    attribute: str | None = None
    value: str | None = None
    direction: Literal["more", "less"] | None = None
    also: tuple[tuple[str, str], ...] = ()  # further (attribute, value) labels the identified image has
    frame: Frame = "plain"
    why: str = ""  # why an unread part cannot be answered, when it is not its statement frame
    by_meaning: str = ""  # how a word the vocabulary lacks was read by meaning, for the evidence


def _asks_which(text: str, options: tuple[str, ...] = (), n_images: int | None = None) -> bool:
    """True when a part asks for an image.

    A wh-word or a verb of choosing ("which ...", "choose the one that ..."), or options that each name
    one image, whatever the stem's own words ("When was it largest?", "Largest on?").
    """
    return bool(voc.find(text, "wh_word", "identify")) or _options_name_images(options, n_images or len(options))


def _options_name_images(options: tuple[str, ...], n_images: int) -> bool:
    from mimir.agent.options import image_of

    return len(options) >= 2 and all(image_of(o, max(n_images, len(options))) is not None for o in options)


def _premise_exclusion(text: str) -> Intent | None:
    """A question that asks for the image other than one a statement before it names.

    "One of these images is the FLAIR. Which image is the other one?" and "Only one image is the
    FLAIR; select the one that isn't." ask for the image that is not the FLAIR: the label is in the
    premise, and the question names none of its own (an elliptical negation denies the premise's).
    """
    if (split := premise_and_question(text)) is None:
        return None
    premise, question = split
    label = label_named(premise)
    if label is None or label_named(question) is not None or not (voc.find(question, "exclusion") or voc.ends_negated(question)):
        return None
    return Intent("identify", text, True, attribute=label[0], value=label[1])


_CLAUSE_END = re.compile(r"[.,;:?!]")
#: A sentence's end: the words before a set-aside are read from the start of its own sentence.
_SENTENCE = re.compile(r"[.?!]\s+")


def _set_aside(text: str) -> Intent | None:
    """A question that sets something aside ("Leave out the FLAIR. Which image remains?", "Excluding the prior, ...").

    The verb negates its object, not the question; a verb with nothing after it in its clause takes the
    words before it ("The T2 aside, which image remains?"). With a label as its object and no label,
    finding or amount of the question's own, the question asks for the image without that label.
    Anything else set aside (a visit, a finding) would narrow the images, which the planner does not do:
    the part is unread and the answer says why, rather than answer over all the images or deny the predicate.
    """
    denials = voc.negation_cues(voc.vocabulary(), text)  # "can we exclude growth?" asks whether it is absent: a negation, not a set-aside
    mark = next((m for m in voc.find(text, "set_aside")
                 if all(m.end <= c.start or m.start >= c.end for c in denials)), None)
    if mark is None:
        return None
    end = _CLAUSE_END.search(text, mark.end)
    cut = end.start() if end else len(text)
    start, stop, before = mark.end, cut, text[:mark.start]
    if not text[mark.end:cut].strip():  # postposed: "the T2 aside"
        start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, mark.start)), default=0)
        stop, before = mark.start, text[:start]
    aside, rest = text[start:stop], text[cut:]
    label = label_named(aside)
    if label is not None and label_named(rest) is None and not voc.find(rest, "finding", "quantity", "change"):
        return Intent("identify", text, True, attribute=label[0], value=label[1])
    if _names_images_apart(aside, _SENTENCE.split(before)[-1] + " " + rest):
        # "Ignoring the baseline, how did it change between scans 2 and 3?", "pic 2 vs pic 3 only (ignore pic 1): ..."
        kept = before.rstrip(" ([") + " " + rest.lstrip(" ,;:)]")
        return replace(_read_part(kept, ()), text=kept)
    return Intent("identify", text, False, frame="unread",
                  why=f"it sets '{text[min(start, mark.start):max(stop, mark.end)].strip()}' aside, and mimir does not "
                      "narrow the images by what a question sets aside")


def _names_images_apart(aside: str, rest: str) -> bool:
    """True when what is set aside is images and the rest of the question names the images it asks about itself.

    Such a set-aside only repeats what the question's own references already leave out, so the
    question is read without it; otherwise the set-aside would narrow the images and the part is unread.
    The rest must name at least two images one by one ("pic 2 vs pic 3"): a count ("3 scans") or a single
    image leaves the set-aside doing the narrowing.
    """
    from mimir.memory.grammar import references

    def names(text: str) -> bool:
        return any(r.has("OTYQ") for r in references(text))

    def named(text: str) -> int:  # images named one by one ("pic 2 vs pic 3", "scans 2 and 3"), not a count ("3 scans")
        return sum(sum(t.tag in "OTY" for t in r.tokens) or sum(t.tag == "Q" for t in r.tokens[1:]) * (r.tokens[0].tag != "Q")
                   for r in references(text))

    return names(aside) and not voc.find(aside, "finding", *LABELS) and named(rest) >= 2


def read_part(text: str, options: tuple[str, ...], n_images: int | None = None) -> Intent:
    """The intent of one question (a yes/no change part read through the frame that embeds its statement)."""
    intent = _read_part(text, options, n_images)
    if intent.kind not in ("change", "resection") or voc.find(text, "wh_word"):
        return intent
    statement, frame = statement_frame(text)
    if frame == "plain":
        return intent
    asserted = _asserted(statement)
    if intent.kind == "resection":
        asserted &= {"gross_total", "partial"}
    return replace(intent, asserted=asserted or intent.asserted, frame=frame)


def _read_part(text: str, options: tuple[str, ...], n_images: int | None = None) -> Intent:
    if (aside := _set_aside(text)) is not None:
        return aside
    if options and all(voc.answer_of(o) is not None for o in options) \
            and (pairs := stated_pairs(text, n_images or 2)):  # "is image 1 the T1 and image 2 the FLAIR, or the other way round?"
        return Intent("identify", text, False, attribute=next(c for c in LABELS if pairs[0][1] in voc.vocabulary().concept(c)),
                      frame="assignment")
    changes = [m for m in voc.find(text, "change", "resection", "procedure") if not _names_a_visit(text, m)]
    negated = voc.is_negated(text)
    timed = [m for m in voc.find(text, "time", "comparative", "superlative")
             if m.concept == "time" or not _before_time(text, m)]  # "the most current exam" names a visit
    dated = _dated(text) and label_named(text) is None and not voc.find(text, "finding")
    which = _asks_which(text, options, n_images)
    labelled = bool(options) and all(any(voc.values_in(o, c) for c in LABELS) for o in options)  # "Right (OD) / Left (OS)"
    split = premise_and_question(text)  # "the series from this visit: which is the T1?" asks for a label, not a visit
    asked = split[1] if split is not None and label_named(split[1]) is not None else text
    if which and (dated or visit_at_an_end(asked, n_images) in ("latest", "baseline")) and not _options_are_changes(options) \
            and not labelled and not any(m.concept != "time" and m.value != "equal" for m in timed):  # "the same patient" grades nothing
        return Intent("when", text, negated)
    times = voc.find(text, "time")
    amounts = [m for m in voc.find(text, "comparative", "superlative") if voc.find(text, "finding", "quantity")
               and not any(t.start <= m.start and m.end <= t.end for t in times) and not _before_time(text, m)
               and not _grades_judgement(text, m)]
    amount = [m for m in amounts if not m.negated]  # "more extensive tumour", not "most likely"
    if which and (denied := _denied_amount(text, amounts, n_images or len(options))) is not None:
        return denied
    graded = [m for m in amount if m.value != "equal"]  # "two studies of the same patient": no direction
    if which and graded and not _alternatives(text, amount):
        direction = "more" if graded[0].value in ("more", "most") else "less"
        return Intent("extreme", text, negated, direction=direction)  # type: ignore[arg-type]
    extents = any(voc.resection_of(o) for o in options)  # "how complete was the surgery?  A: complete  B: incomplete"
    if any(m.concept == "resection" or m.concept == "procedure" and (m.value == "resection" or extents) for m in changes):
        asserted = _asked_change(text) & {"gross_total", "partial"}
        if not asserted and (residual := _residual(text, options, changes)) is not None:
            return residual  # "is the resection cavity clean, with no tumour left?": whether tumour is there
        return Intent("resection", text, negated, asserted=asserted)
    if (residual := _residual(text, options, changes)) is not None:
        return residual
    options_say_change = any(voc.find(o, "change", "resection", "comparative") for o in options)
    changed = not which and any(m.value == "changed" for m in voc.find(text, "course"))  # "has it changed in size?"
    if any(m.concept == "change" for m in changes) or amount or changed or options_say_change and voc.find(text, "course", "span") \
            or _options_are_changes(options):
        return Intent("change", text, negated, asserted=_asked_change(text))
    if (other := _premise_exclusion(text)) is not None:
        return other
    label = asked_label(text)
    option_labels = {c for o in options for c in LABELS if voc.values_in(o, c)}
    named = [{c for c in LABELS if voc.values_in(o, c)} | set(labels_said(o)) for o in options]
    offered = any(sum(c in n for n in named) >= 2 for c in LABELS)  # a choice between values, not one option's word
    asks_attribute = offered and (bool(voc.find(text, "attribute_noun")) or label is None and len(option_labels) == 1)
    if option_labels and asks_attribute:
        return Intent("attribute", text, negated, attribute=next(iter(option_labels)))
    if label is not None:
        return Intent("identify", text, label[2], attribute=label[0], value=label[1])
    if several := several_labels(text):
        (attribute, value), *rest = several
        return Intent("identify", text, attribute=attribute, value=value, also=tuple(rest))
    if not which and (read := asserted_by_meaning(text, options)) is not None:  # "did the mass recede since ...?"
        word, change, lead = read
        return Intent("change", text, negated, asserted=frozenset({cast(Change, change)}),  # a size change
                      by_meaning=f"'{word}' read by meaning as {change} (lead {lead})")
    return Intent("visual", text, negated)


def _alternatives(text: str, amount: list[voc.Mention]) -> bool:
    """True when the stem offers both directions as alternatives ("more than, less than or equal to that").

    Such a stem asks which relation holds between the images, not which image has more.
    """
    ups = [m.start for m in amount if m.value in ("more", "most")]
    downs = [m.start for m in amount if m.value in ("less", "least")]
    return bool(ups and downs and re.search(r"\bor\b", text[min(ups + downs):], re.I))


def _denied_amount(text: str, amounts: list[voc.Mention], n_images: int) -> Intent | None:
    """A which-image question that denies its amount ("not the larger of the two"), else None.

    Of two images, the one that is not the larger is the smaller: the direction turns. Among more
    images a denied extreme names no one image: the part is unread, and the answer abstains saying so.
    """
    if not any(m.negated for m in amounts):
        return None
    values = {m.value for m in amounts}
    if n_images != 2 or len(values) != 1:
        return Intent("extreme", text, True, frame="unread",
                      why="it asks for an image that does not have the most or the least, which names no one image")
    direction = "less" if values.pop() in ("more", "most") else "more"
    return Intent("extreme", text, True, direction=direction)  # type: ignore[arg-type]


def _options_are_changes(options: tuple[str, ...]) -> bool:
    """True when the options name at least two different changes ("What happened to the mass?  A: grew  B: shrank").

    An amount said against another image is a change too: options "a greater amount", "a lesser amount", "a
    similar amount" set the later image against the earlier one whatever the stem's words, when no option
    names an image.
    """
    named = [next(iter(c)) if len(c := option_changes(o)) == 1 else CHANGE_OF_COMPARATIVE.get(voc.comparative_of(o) or "") for o in options]
    return len({c for c in named if c is not None}) >= 2 and not _options_name_images(options, len(options))


def _residual(text: str, options: tuple[str, ...], found: list[voc.Mention]) -> Intent | None:
    """A yes/no question whether a finding is (still) there after surgery asks about residual tumour.

    "Is any enhancing tumour left after surgery?" asserts tumour is left (a partial resection);
    "Is there no tumour on the post-operative scan?" asserts none is (gross-total).
    """
    surgery = [m for m in found if m.concept == "procedure"]
    if not surgery or not options or any(voc.answer_of(o) is None for o in options):
        return None
    named = [m for m in voc.find(text, "finding") if m.value == "tumour"]
    if not named or any(m.concept == "change" for m in found):
        return None
    asserted: Change = "gross_total" if any(m.negated for m in named) else "partial"
    return Intent("resection", text, False, asserted=frozenset({asserted}))


@lru_cache(maxsize=4096)
def _read(stem: str, options: tuple[str, ...], n_images: int | None) -> tuple[Intent, ...]:
    parts = _whole_parts(split_parts(stem), options)
    intents = tuple(read_part(p, options if len(parts) == 1 else (), n_images) for p in parts)
    if len(intents) > 1 and _options_are_changes(options) \
            and all(i.kind == "change" and len(i.asserted) != 1 for i in (read_part(p, options, n_images) for p in parts)):
        return (read_part(stem, options, n_images),)  # "What has it done? Bigger, smaller or the same?": one question
    return intents


def _whole_parts(parts: list[str], options: tuple[str, ...]) -> list[str]:
    """Parts with one yes/no change predicate asked of several references made one question each.

    "Compared with the first scan, and separately with the prior, has it grown?" is two questions;
    "Is it larger vs baseline? And vs the prior?" too, the second worded in full from the first.
    """
    out: list[str] = []
    for p in parts:
        if out and _yes_no_change(out[-1], options) and _read_part(p, ()).kind == "visual" \
                and (full := ellipsis.complete(out[-1], p)) is not None:
            out.append(full)
        elif _yes_no_change(p, options):
            out.extend(ellipsis.distribute(p))
        else:
            out.append(p)
    return out


def _yes_no_change(text: str, options: tuple[str, ...]) -> bool:
    intent = _read_part(text, options)
    return intent.kind == "change" and bool(intent.asserted)


def read_question(stem: str, options: dict[str, str], n_images: int | None = None) -> list[Intent]:
    """The intents of a stem's questions, in order (options help read an attribute question).

    ``n_images``: how many images the question is about (a denied extreme names one image only among
    two); without it, the number of options stands in for it.
    """
    return list(_read(stem, tuple(options.values()), n_images))
