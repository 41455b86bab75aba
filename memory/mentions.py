"""Shared pieces of the resolver: the ``Hit`` a matcher returns and positional (ordinal) matchers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mimir.domain import CaseImage


@dataclass
class Hit:
    """One mention found in a text segment, bound to 0-based image indices."""

    start: int
    end: int
    text: str
    indices: list[int]
    confidence: float
    reason: str
    candidates: list[list[int]] = field(default_factory=list)
    ambiguous: bool = False
    needs_context: str | None = None  # "both" / "other": settled against the images named around it


Matcher = Callable[[re.Match[str], list[CaseImage]], Hit | None]

ORDINALS = {
    "first": 0, "1st": 0, "one": 0, "1": 0, "initial": 0, "earliest": 0,
    "second": 1, "2nd": 1, "two": 1, "2": 1,
    "third": 2, "3rd": 2, "three": 2, "3": 2,
    "fourth": 3, "4th": 3, "four": 3, "4": 3,
    "last": -1, "final": -1,
}
_ORD = r"(?:very\s+)?(?:first|second|third|fourth|1st|2nd|3rd|4th|last|final|initial)"
_MOD = r"(?:(?:x-?ray|fundus|mri|mr|ct|brain|breast|chest|displayed|listed|presented|shown|given|retinal|mammogram|cxr)\s+)"
NOUN = (r"(?:images?|pictures?|photos?|scans?|x-?rays?|radiographs?|mri|mr|ct|examinations?|exams?|visits?|"
        r"studies|study|views?|ones?|mammograms?|slices?|photographs?)")
_SEQ = r"(?:offered|in\s+(?:the\s+)?(?:sequence|order|line|series|list|row))"
_BARE_NEXT = (r"(?=\s*(?:[,.;:?!)]|$|\s+(?:is|was|are|shows?|displays?|illustrates?|reveals?|indicates?|has|have|"
              r"does|appears?|depicts?|demonstrates?|presents?|exhibits?|suggests?|to|versus|vs\.?|compared|and|or|"
              r"with|at|in\s+(?:comparison|relation))\b))")


def ordinal_index(word: str, n: int) -> int:
    """0-based index of an ordinal word among n images (negative counts from the end)."""
    k = ORDINALS[word.lower().replace("very ", "").strip()]
    return n + k if k < 0 else k


def index_hit(m: re.Match[str], idx: list[int], n: int, conf: float, reason: str) -> Hit:
    """A hit on explicit indices; out-of-range indices make it unresolved and ambiguous."""
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        return Hit(m.start(), m.end(), m.group(0), [], 0.0,
                   f"refers to image {bad[0] + 1} but the case has {n}", [[i] for i in range(n)], True)
    return Hit(m.start(), m.end(), m.group(0), sorted(set(idx)), conf, reason)


def _ord_list(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    words = re.findall(_ORD, m.group("ords"), flags=re.I)
    idx = [ordinal_index(w, len(images)) for w in words]
    return index_hit(m, idx, len(images), 0.95, "ordinals: " + ", ".join(w.lower() for w in words))


def _ord_single(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    word = m.group("ord")
    return index_hit(m, [ordinal_index(word, len(images))], len(images), 0.95, f"ordinal '{word.lower()}'")


def _numbered(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    word = m.group("num")
    return index_hit(m, [ordinal_index(word, len(images))], len(images), 0.95, f"image number {word}")


def _middle(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    n = len(images)
    if n % 2 == 1:
        return index_hit(m, [n // 2], n, 0.9, "middle of an odd number of images")
    if n == 2:  # Med-MIM lists two images as first/middle; the middle one is the second
        return index_hit(m, [1], n, 0.6, "two images have no middle; read as the second")
    return Hit(m.start(), m.end(), m.group(0), [], 0.0, f"{n} images have no single middle one",
               [[n // 2 - 1], [n // 2]], True)


def _next(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    n = len(images)
    if re.search(r"(?:images|scans|pictures|ones|x-?rays|examinations|visits)$", m.group(0), re.I):
        return index_hit(m, list(range(1, n)), n, 0.8, "the images after the first")
    return index_hit(m, [1], n, 0.8 if n == 2 else 0.7, "the image after the first")


def _top_bottom(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    word = m.group("pos").lower()
    n = len(images)
    if word in ("top", "beginning", "start"):
        return index_hit(m, [0], n, 0.85, "listed first")
    if word in ("bottom", "end"):
        return index_hit(m, [n - 1], n, 0.85, "listed last")
    return _middle(m, images)


def _former_latter(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    n = len(images)
    latter = m.group("fl").lower() == "latter"
    idx = n - 1 if latter else 0
    return index_hit(m, [idx], n, 0.9 if n == 2 else 0.6, "the latter: last listed" if latter else "the former: first listed")


def _all(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    n = len(images)
    return index_hit(m, list(range(n)), n, 0.9, "all images of the case")


def _both(m: re.Match[str], images: list[CaseImage]) -> Hit | None:
    n = len(images)
    if n == 2:
        return index_hit(m, [0, 1], n, 0.95, "both images")
    pairs = [[i, j] for i in range(n) for j in range(i + 1, n)]
    return Hit(m.start(), m.end(), m.group(0), list(range(n)), 0.4, f"'both' with {n} images", pairs, True,
               needs_context="both")


_Q = r"(?:the\s+)?"
POSITIONAL: list[tuple[re.Pattern[str], Matcher]] = [
    (re.compile(rf"\b(?:both\s+)?{_Q}(?P<ords>{_ORD}(?:\s*,\s*{_Q}{_ORD})*\s*,?\s+(?:and|or|&)\s+{_Q}{_ORD})"
                rf"(?:\s+{_MOD}?{_MOD}?{NOUN}|\s+{_SEQ})?", re.I), _ord_list),
    (re.compile(rf"\b{_Q}(?P<ord>{_ORD})\s+{_MOD}?{_MOD}?(?:{NOUN}|{_SEQ})", re.I), _ord_single),
    (re.compile(rf"\b{_Q}(?P<ord>{_ORD})\s+{_SEQ}", re.I), _ord_single),
    (re.compile(r"\b(?:the\s+)?(?:image|picture|scan)\s+(?:(?:at|in)\s+position\s+|number\s+|no\.?\s*|#\s*)?"
                r"(?P<num>[1-4]|one|two|three|four)\b(?!\s*(?:mm|cm|months?|weeks?|years?|days?))", re.I), _numbered),
    (re.compile(r"\b(?:the\s+)?(?:image|picture|scan|one)\s+(?:at|in|on)\s+the\s+(?P<pos>top|bottom|center|centre|middle|beginning|end)\b", re.I), _top_bottom),
    (re.compile(rf"\b{_Q}middle\s+(?:{NOUN}|offered|in\s+(?:sequence|order|line))", re.I), _middle),
    (re.compile(rf"\b{_Q}(?:next|subsequent)\s+{_MOD}?(?:{NOUN}|offered)", re.I), _next),
    (re.compile(r"\bthe\s+(?P<fl>former|latter)\b", re.I), _former_latter),
    (re.compile(rf"\b(?:(?:all|each)\s+(?:of\s+)?(?:the\s+|these\s+)?(?:two\s+|three\s+)?|these\s+(?:two\s+|three\s+)?|the\s+(?:two|three|following)\s+|either\s+)"
                rf"{_MOD}?{_MOD}?{NOUN}", re.I), _all),
    (re.compile(rf"\bboth\s+(?:(?:the|these)\s+)?{_MOD}?{_MOD}?{NOUN}", re.I), _both),
    (re.compile(rf"\b{_Q}(?P<ord>{_ORD}){_BARE_NEXT}", re.I), _ord_single),
    (re.compile(r"(?:^|(?<=[\s,;(]))(?P<ord>First|Second|Third)(?=:)"), _ord_single),
]


def find_positional(text: str, images: list[CaseImage]) -> Iterator[Hit]:
    """Every positional mention in ``text`` (overlaps are settled by the caller)."""
    for pattern, fn in POSITIONAL:
        for m in pattern.finditer(text):
            hit = fn(m, images)
            if hit is not None:
                yield hit
