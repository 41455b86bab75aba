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
             reread: Callable[[str], list[Hit]]) -> list[Hit]:
    """``hits`` with each "the scan before <reference>" read as the neighbour of the image the reference binds.

    The reference after the relation word is read on its own (``reread``), so that the relation's
    words never join it ("prior to the second one" is the second one, then the visit before it). An
    ambiguous reference stays ambiguous: its candidates move to their neighbours too.
    """
    out = list(hits)
    for m in _lead().finditer(text):
        after = reread(text[m.end():])
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


def _neighbour(images: list[CaseImage], index: int, step: int) -> int | None:
    groups = visits(images, list(range(len(images)))) or [[i] for i in range(len(images))]
    k = next(k for k, g in enumerate(groups) if index in g)
    j = k + step
    if not 0 <= j < len(groups) or len(groups[j]) != 1:
        return None
    return groups[j][0]
