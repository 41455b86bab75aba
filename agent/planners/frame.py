"""Which images a change question compares, following its words, and the guards on that comparison.

- Two or more images bound by the question ("the first and the third", "baseline and the latest
  scan") are compared exactly; one bound image is the reference and the current (latest) image the
  other end ("since the prior" compares the previous study with the current one, "since baseline"
  the first with the current); none bound means every image, in time order.
- "nadir" (or a RECIST / RANO response question) compares the current image with the smallest
  earlier measurement, as those criteria do for progression.
- Guards: images of one study are never a change over time, and images of different modalities or
  MR sequences are never compared as sizes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.agent.planners import words
from mimir.agent.planners.base import PlanView
from mimir.domain import Binding, CaseImage


@dataclass(frozen=True)
class Frame:
    """The images to measure in time order, and what the last one is compared with."""

    order: list[int]
    reference: Literal["first", "nadir"] = "first"
    why: str = ""


#: Why a frame spans every image: the question names none (or none that binds).
EVERY_IMAGE = "every image, in time order"


def _time_order(images: list[CaseImage], idx: list[int]) -> list[int]:
    if all(images[i].study_date for i in idx):
        return sorted(idx, key=lambda i: (images[i].study_date, i))
    return sorted(idx)


def _current(images: list[CaseImage]) -> int:
    """The latest image by date (every image dated), else the last one listed."""
    return _time_order(images, list(range(len(images))))[-1]


def _occurrences(text: str, mention: str) -> list[re.Match[str]]:
    """Where ``text`` holds ``mention`` as words of its own: an option's "1" (of "#1") is not in "2021" or "01"."""
    return list(re.finditer(rf"(?<![A-Za-z0-9]){re.escape(mention)}(?![A-Za-z0-9])", text)) if mention else []


def says(text: str, mention: str) -> bool:
    """True when ``text`` holds ``mention`` as words of its own."""
    return bool(_occurrences(text, mention))


def settled(view: PlanView, text: str | None = None) -> list[Binding]:
    """The mentions of ``text`` (default: the stem) bound to images with no open alternative."""
    stem = view.question.stem if text is None else text
    return [b for b in view.resolution.bindings if b.image_indices and not b.candidates and says(stem, b.mention)]


def named_images(view: PlanView, text: str | None = None) -> list[int]:
    """The images the settled mentions of ``text`` (default: the stem) bind, in case order."""
    return sorted({i for b in settled(view, text) for i in b.image_indices})


def selected_images(view: PlanView, text: str | None = None) -> list[int]:
    """Like :func:`named_images`, but a mention of every image gives way to mentions that pick some of them.

    In "Label: change of tumor, latest pair (scan 2 -> scan 3). Scans are in date order." the picked ones
    are what is asked; "Scans" only describes them all.
    """
    every = set(range(len(view.case.images)))
    sets = [set(b.image_indices) for b in settled(view, text)]
    picked = [s for s in sets if s != every]
    return sorted(set().union(*picked)) if picked and len(picked) < len(sets) else named_images(view, text)


def unbound_place(view: PlanView, text: str | None = None) -> str | None:
    """An ordinal of the question that no binding covers, else None.

    "between the second and the third investigation", with an image noun the vocabulary lacks, binds
    nothing: comparing every image instead would answer another question.
    """
    stem = view.question.stem if text is None else text
    covered = [(m.start(), m.end()) for b in view.resolution.bindings for m in _occurrences(stem, b.mention)]
    for m in voc.find(stem, "ordinal"):
        before = _DETERMINER_BEFORE.search(stem[:m.start])  # "the third ...", not an order said ("prior first")
        if before is not None and not any(s <= m.start and m.end <= e for s, e in covered):
            return stem[before.start():m.end]
    return None


#: A determiner right before an ordinal: the ordinal names an image ("the second ..."), not an order ("shown first").
_DETERMINER_BEFORE = re.compile(r"\b(?:the|this|that|these|those)\s+$", re.I)


def frame_of(view: PlanView, text: str | None = None) -> Frame:
    """The comparison the question (or one of its parts, ``text``) asks for."""
    images = view.case.images
    bound = selected_images(view, text)
    asked = _question_sentence(text or view.question.stem)
    if asked is not None and len(own := selected_images(view, asked)) >= 2:  # "Baseline, fu 1, fu 2 shown. Fu 2 vs fu 1: ..."
        bound, text = own, asked
    nadir = "nadir" in voc.values_in(text or view.question.stem, "span")
    reference: Literal["first", "nadir"] = "nadir" if nadir else "first"
    if len(bound) == 2 and (against := _reference_named(view, text or view.question.stem, bound)) is not None:
        other = next(i for i in bound if i != against)
        said = text or view.question.stem
        over_time = _changes_over_time(view, said) or _side_by_side(said) and (
            view.ability == "temporal" or bool(voc.find(view.question.stem, "time")))  # "3 scans, oldest first. 2 vs 3: ..."
        if _time_order(images, bound)[0] == against or not over_time:
            return Frame([against, other], reference, f"image {other + 1} set against image {against + 1}, as the question says")
    if len(bound) >= 2:
        return Frame(_time_order(images, bound), reference, "the images the question names")
    current = _current(images)
    if len(bound) == 1 and bound[0] != current:
        return Frame(_time_order(images, [bound[0], current]), reference, "the named image and the current one")
    if len(bound) == 1 and len(images) >= 2:
        earlier = [i for i in _time_order(images, list(range(len(images)))) if i != current]
        return Frame([earlier[-1], current], reference, "the current image and the one before it")
    return Frame(_time_order(images, list(range(len(images)))), reference, EVERY_IMAGE)


def _changes_over_time(view: PlanView, text: str) -> bool:
    """True when the answer is a change in time ("Interval increase", "grown"), not an amount ("larger").

    Every option is such a change category, or the options are yes / no and the question names a change
    in time and no amount ("Prior vs follow-up. Enlargement at follow-up: Y/N"). Such a change runs from
    the earlier image to the later, whichever of the two a cue marks ("exam two versus exam three").
    """
    options = [v for v in view.question.options.values() if v.strip()]
    if options and all(voc.answer_of(o) is not None for o in options):
        return bool(voc.find(text, "change")) and not voc.find(text, "comparative")
    return bool(options) and any(voc.find(o, "change") for o in options) \
        and all(_names_change(o) for o in options if opt.change_of(o) != "stable")


#: A comparative that is one past participle ("Increased", "Reduced"); "more pronounced" is an amount.
_PARTICIPLE = re.compile(r"[A-Za-z]+ed", re.I)


def _names_change(option: str) -> bool:
    """True when an option names a change in time, not an amount.

    A change word with no amount ("Interval reduction"), or a comparative said as a participle
    ("Increased", "Reduced": what happened, not which image has more).
    """
    amounts = [m for m in voc.find(option, "comparative") if not _PARTICIPLE.fullmatch(m.text)]
    return not amounts and bool(voc.find(option, "change") or voc.find(option, "comparative"))


def _side_by_side(text: str) -> bool:
    """True when the question's only comparison cues set images side by side ("pic 2 vs pic 3"), naming no subject.

    In a question that speaks of time, such a pair asks how the finding went from the earlier image to the later.
    """
    cues = voc.find(text, "reference_cue")
    return bool(cues) and all(c.value == "versus" for c in cues)


def _question_sentence(text: str) -> str | None:
    """The last sentence that asks (ends in "?" or, as a form's prompt, in ":"), in a stem of several, else None.

    A stem with no question mark names no such sentence: "Label: change, latest pair (scan 2 -> scan 3). Scans
    are in date order." asks in its first sentence, and the remark after it is no question.
    """
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    asking = [s for s in sentences if s.rstrip().endswith(("?", ":"))]  # "... between TP2 and TP3 (select one):" asks too
    return asking[-1] if len(sentences) > 1 and asking else None


def _reference_named(view: PlanView, text: str, bound: list[int]) -> int | None:
    """The one image a comparison is made against ("larger than on image 2", "relative to the first scan"), else None."""
    cues = voc.find(text, "reference_cue")
    mentions = [(m.start(), b.image_indices[0]) for b in view.resolution.bindings
                if len(b.image_indices) == 1 and b.image_indices[0] in bound and not b.candidates
                for m in _occurrences(text, b.mention)]  # every place it is said: "Scan-2 the newer one. On Scan-1, compared to Scan-2"
    cued = {i for pos, i in mentions for c in cues if c.end <= pos and len(text[c.end:pos].split()) <= 3
            and not any(c.end <= p < pos for p, _ in mentions)}
    return cued.pop() if len(cued) == 1 else None


def same_study(images: list[CaseImage], order: list[int]) -> bool:
    """True when every image carries a date and all dates are one (one visit)."""
    dates = [images[i].study_date for i in order]
    return len(order) >= 2 and all(dates) and len(set(dates)) == 1


def answers_a_change(view: PlanView) -> bool:
    """True when the answer is a change over time: a temporal question, or options that are change categories.

    "How has the lesion changed from the first image to the second?" with options "It has grown /
    Stable / It has shrunk" reads as a comparison of two named images, but its answer is still a
    change over time. Options that name an image ("the lesion is larger in image 2") are a
    comparison between images, not a change.
    """
    if view.ability == "temporal":
        return True
    n = len(view.case.images)
    return any(opt.change_of(v) is not None and opt.image_of(v, n) is None for v in view.question.options.values())


def sequence_clash(images: list[CaseImage], order: list[int], labels: dict[int, str]) -> str | None:
    """Why these images cannot be compared as sizes (two modalities, or two MR sequences), else None."""
    modalities = {words.modality_of(images[i].modality) for i in order} - {None}
    if len(modalities) > 1:
        return f"the images are of different modalities ({', '.join(sorted(str(m) for m in modalities))})"
    seqs = {i: labels[i] for i in order if i in labels}
    if len(set(seqs.values())) > 1:
        named = ", ".join(f"image {i + 1} is {s}" for i, s in sorted(seqs.items()))
        return f"the images are of different MR sequences ({named}), so their lesion sizes are not comparable"
    return None
