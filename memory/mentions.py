"""Shared pieces of the resolver: the ``Hit`` a reference resolves to, and hits on explicit positions."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    needs_context: str | None = None  # "both": settled against the images named around it
    unbound: bool = False  # a reference to an image named nowhere ("the scan after it" with nothing before it)


def index_hit(span: tuple[int, int, str], idx: list[int], n: int, conf: float, reason: str) -> Hit:
    """A hit on explicit indices; out-of-range indices make it unresolved and ambiguous."""
    s, e, text = span
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        return Hit(s, e, text, [], 0.0, f"refers to image {bad[0] + 1} but the case has {n}", [[i] for i in range(n)], True)
    return Hit(s, e, text, sorted(set(idx)), conf, reason)


def position(word_value: str, pool: list[int]) -> list[int] | None:
    """The pool member an ordinal value names ("1", "-2"), as a one-element list; None when out of range."""
    k = int(word_value)
    i = k - 1 if k > 0 else len(pool) + k
    return [pool[i]] if 0 <= i < len(pool) else None


def middle(span: tuple[int, int, str], pool: list[int], n: int) -> Hit:
    """The middle of the pool: the centre of an odd count; of two, the second (Med-MIM lists two as first/middle)."""
    s, e, text = span
    m = len(pool)
    if m % 2 == 1:
        return index_hit(span, [pool[m // 2]], n, 0.9, "middle of an odd number of images")
    if m == 2:
        return index_hit(span, [pool[1]], n, 0.6, "two images have no middle; read as the second")
    return Hit(s, e, text, [], 0.0, f"{m} images have no single middle one", [[pool[m // 2 - 1]], [pool[m // 2]]], True)
