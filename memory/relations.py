"""Images named by their place in time relative to another reference: "the scan just before the current one".

A head ("the scan", "the one") followed by a relation word from the vocabulary ("before", "preceding",
"prior to"; "after", "following") and an adverb or two ("just", "immediately") names the visit next to
the image the following reference binds, in time order (by study date when every image has one,
else in the order listed). It stands only where that reference binds one image and the neighbour
exists; otherwise the plain reading is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from mimir import vocabulary as voc
from mimir.domain import CaseImage
from mimir.memory.mentions import Hit
from mimir.memory.temporal import visits


@cache
def _lead() -> re.Pattern[str]:
    """A head, optional adverbs and a relation word, then the reference it relates to."""
    heads = "|".join(voc.pattern(c) for c in ("image_noun", "modality", "sequence"))
    relation = voc.pattern("relation")
    return re.compile(rf"\b(?:the|that)\s+(?:one|{heads})\s+(?:(?:just|immediately|right|directly)\s+)?"
                      rf"(?P<rel>{relation})\s+", re.I)


def lead_start(text: str, start: int) -> int | None:
    """Where a relational head before position ``start`` begins ("the scan just before |the current one"), else None."""
    found = [m for m in _lead().finditer(text) if m.end() == start]
    return found[0].start() if found else None


def relative(text: str, hits: list[Hit], images: list[CaseImage],
             reread: Callable[[str], list[Hit]], context: list[Hit] | None = None) -> list[Hit]:
    """``hits`` with each "the scan before <reference>" read as the neighbour of the image the reference binds.

    The reference after the relation word is read on its own (``reread``), so that the relation's
    words never join it ("prior to the second one" is the second one, then the visit before it). An
    ambiguous reference stays ambiguous: its candidates move to their neighbours too. A pronoun there
    ("the scan after it") stands for the last image named before it, in the text or its ``context``
    (the stem, for an option); with none, the reference is unbound: it names no image, and no default
    is taken for it.
    """
    out = list(hits)
    for m in _lead().finditer(text):
        after = reread(text[m.end():])
        if (said := _anaphor().match(text, m.end())) is not None and not (after and after[0].start == 0):
            out = [o for o in out if o.end <= m.start() or o.start >= said.end()]
            out.append(_anaphoric(text, m, said.end(), [*(context or []), *(o for o in hits if o.end <= m.start())], images))
            continue
        if not after or after[0].start != 0 or len(after[0].indices) != 1:
            continue
        h = after[0]
        step = -1 if voc.find(m.group("rel"), "relation")[0].value == "before" else 1
        neighbour = _neighbour(images, h.indices[0], step)
        if neighbour is None:
            continue
        end = m.end() + h.end
        word = "before" if step < 0 else "after"
        moved = [[nb] for c in h.candidates if len(c) == 1 and (nb := _neighbour(images, c[0], step)) is not None]
        out = [o for o in out if o.end <= m.start() or o.start >= end]
        out.append(Hit(m.start(), end, text[m.start():end], [neighbour], min(0.85, h.confidence),
                       f"the visit {word} image {h.indices[0] + 1}" + (f" ({h.reason})" if h.ambiguous else ""),
                       moved if h.ambiguous else [], h.ambiguous))
    return sorted(out, key=lambda o: o.start)


@cache
def _anaphor() -> re.Pattern[str]:
    return re.compile(voc.pattern("anaphor"), re.I)


def _anaphoric(text: str, lead: re.Match[str], end: int, before: list[Hit], images: list[CaseImage]) -> Hit:
    """"The scan after it": the neighbour of the image named last before it, else an unbound reference.

    The antecedent is the last reference before the pronoun that names one image, or one image per
    reading (an ambiguous one stays ambiguous, its candidates moved to their neighbours).
    """
    span = text[lead.start():end]
    pronoun = text[lead.end():end]
    named = [h for h in before if len(h.indices) == 1 or h.ambiguous and h.candidates and all(len(c) == 1 for c in h.candidates)]
    if not named:
        return Hit(lead.start(), end, span, [], 0.0, f"'{pronoun}' stands for no image named before it", unbound=True)
    h = named[-1]
    step = -1 if voc.find(lead.group("rel"), "relation")[0].value == "before" else 1
    word = "before" if step < 0 else "after"
    moved = [[nb] for c in h.candidates if len(c) == 1 and (nb := _neighbour(images, c[0], step)) is not None]
    neighbour = _neighbour(images, h.indices[0], step) if len(h.indices) == 1 else None
    if h.ambiguous:
        return Hit(lead.start(), end, span, [neighbour] if neighbour is not None else [], 0.0,
                   f"the visit {word} '{h.text.strip()}' ('{pronoun}'), which is ambiguous ({h.reason})", moved, True)
    if neighbour is None:
        return Hit(lead.start(), end, span, [], 0.0,
                   f"'{pronoun}' is image {h.indices[0] + 1}, which has no visit {word} it", unbound=True)
    return Hit(lead.start(), end, span, [neighbour], min(0.8, h.confidence),
               f"the visit {word} image {h.indices[0] + 1} ('{pronoun}': {h.text.strip()})")


def _neighbour(images: list[CaseImage], index: int, step: int) -> int | None:
    groups = visits(images, list(range(len(images)))) or [[i] for i in range(len(images))]
    k = next(k for k, g in enumerate(groups) if index in g)
    j = k + step
    if not 0 <= j < len(groups) or len(groups[j]) != 1:
        return None
    return groups[j][0]
