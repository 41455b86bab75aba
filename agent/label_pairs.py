"""Which image each label is said to be: the labels a text says, and the image-label pairs a stem or an option states.

"Image 1 is the FLAIR; image 2 is the T1+C", "right eye first, left eye second" and "OS then OD" each
pair images with labels of one attribute; "is image 1 the T1 and image 2 the FLAIR, or the other way
round?" states two pairs for a yes/no answer to confirm. Labels come from the clinical vocabulary,
images from the reference grammar.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from mimir import vocabulary as voc
from mimir.agent.labels import LABELS
from mimir.domain import CaseImage


@lru_cache(maxsize=8192)
def _image_reading(text: str, n_images: int) -> tuple[int, ...]:
    """Images a text names as positions in the list (time words read as list positions, as options use them)."""
    from mimir.memory.resolver import resolve_text

    images = [CaseImage(path=f"option-image-{i}") for i in range(n_images)]
    hits = [h for h in resolve_text(text, images) if h.indices]
    named = {tuple(sorted(h.indices)) for h in hits}
    return named.pop() if len(named) == 1 else ()  # "the second image, the newer one": one image named twice


@cache
def _pair_clauses() -> re.Pattern[str]:
    # "T2 / FLAIR": a list; a sentence's full stop too, not an abbreviation's before a number ("Pic No. 2")
    return re.compile(rf"[;,]|\s/\s|\.\s+(?=[A-Za-z(])|{voc.pattern('succession')}|{voc.pattern('clause_break')}", re.I)


def labels_said(text: str) -> dict[str, str]:
    """The one value per label attribute a text names; a text that is only "L" or "R" is written as a header writes a side."""
    labels = {c: vs[0] for c in LABELS if len(vs := voc.values_in(text, c, include_negated=False)) == 1}
    bare = text.strip(" .")
    if not labels and len(bare) == 1 and (side := voc.code_of("laterality", bare)) in ("L", "R"):
        labels = {"laterality": side}
    return labels


def _slash_list(text: str) -> list[str]:
    """The labels of "OD/OS", "T1/T2" when each side of the slash is a different, unrelated label of one attribute, else []."""
    pieces = text.strip().split("/")
    read = [labels_said(p) for p in pieces]
    if len(pieces) < 2 or any(len(r) != 1 for r in read) or len({next(iter(r)) for r in read}) != 1:
        return []
    concept = next(iter(read[0]))
    values = [r[concept] for r in read]
    if len(set(values)) != len(values) or any(_related(concept, a, b) for a in values for b in values if a != b):
        return []  # "T2/FLAIR" is one name: FLAIR narrows T2
    return pieces


def _qualified(clauses: list[str]) -> list[str]:
    """Clauses with a phrase that only qualifies the label before it joined to it ("T1, w/ contrast" is one label).

    A clause that names a place of its own ("..., after contrast second") is an item of the list, not a qualifier.
    """
    out: list[str] = []
    for c in clauses:
        lead = voc.find(c, "postmodifier")
        if out and lead and not c[:lead[0].start].strip() and not voc.find(c, "ordinal") and not re.search(r"\d", c):
            out[-1] = f"{out[-1]} {c.strip()}"
        else:
            out.append(c)
    return out


def stated_pairs(stem: str, n_images: int) -> tuple[tuple[int, str], ...]:
    """The image-label pairs a stem states to be confirmed ("is image 1 the T1 and image 2 the FLAIR, or the other way round?").

    Only the clauses that name a label are read, so a preamble ("Just to confirm the labels:") and the
    alternative after them do not count. Two pairs of two images and two labels of one attribute, else ().
    """
    clauses = [c for c in _pair_clauses().split(stem) if len(c.split()) > 1  # ", right, or ...": a tag, no label
               and any(voc.values_in(c, k, include_negated=False) for k in LABELS)]
    pairs = _pairs(" ; ".join(clauses), n_images)
    if len(pairs) != 2 or len({i for i, _ in pairs}) != 2 or len({lab for _, lab in pairs}) != 2:
        return ()
    return pairs


def _pairs(text: str, n_images: int) -> tuple[tuple[int, str], ...]:
    """Image-label pairs of an assignment.

    Each clause names one label and the image it belongs to ("Image 1 is the FLAIR; image 2 is the
    T1+C", "right eye first, left eye second", "the first is the FLAIR and the second the T1"), or
    no clause names an image and the labels are listed in the images' order, one per image ("OS then
    OD", "OD and OS").
    """
    clauses = _qualified([c for c in _pair_clauses().split(text) if c.strip()])
    if len(clauses) == 1:
        clauses = _slash_list(text) or clauses
    out: list[tuple[int, str]] = []
    listed: list[str] = []
    for c in clauses:
        found = [m for m in voc.find(c, *LABELS) if not m.negated]
        labels = {v for concept in LABELS for v in voc.values_in(c, concept, include_negated=False)} or set(labels_said(c).values())
        if len(labels) != 1:
            return ()
        label = labels.pop()
        rest = c
        for m in sorted(found, key=lambda m: -m.start):  # the image named apart from the label ("OD" is no place)
            rest = rest[:m.start] + " " + rest[m.end:]
        imgs = _image_reading(rest, n_images)
        places = {p for m in voc.find(c, "ordinal") if isinstance(p := voc.ordinal_position(m.text), int)}
        if len(places) == 1:
            place = places.pop()
            out.append((place - 1 if place > 0 else n_images + place, label))
        elif len(imgs) == 1:
            out.append((imgs[0], label))
        else:
            listed.append(label)
    if len(clauses) < 2 and len(out) == 1 and not listed:
        return tuple(out)  # "Left eye on the first": one image's label, which fits when that image has it
    if len(clauses) < 2 or out and listed:
        return ()
    if listed:  # one label said twice in other words ("Left, O.S.") restates it: no assignment
        return tuple(enumerate(listed)) if len(listed) == n_images and len(set(listed)) > 1 else ()
    return tuple(out) if len({i for i, _ in out}) == len(out) and all(0 <= i < n_images for i, _ in out) else ()


def _related(concept: str, a: str, b: str) -> bool:
    """True when two values of a concept are one, or one narrows the other (T1C and T1)."""
    entries = voc.vocabulary().concept(concept)
    return a == b or entries[a].refines == b or entries[b].refines == a
