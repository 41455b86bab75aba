"""How a referring phrase's form changes what it names: coordination, apposition and "last" after "since".

- "the second and the last examination": conjuncts that pick images by different kinds of word name the
  union of their images, each read with the shared head noun, or none (:func:`conjoined`).
- "the second and the third (the two most recent)": a parenthesis restating the phrase is left aside
  (:func:`without_apposition`).
- "since the last scan": after a word a change is measured from, "last" is the prior visit
  (:func:`last_as_prior`); "to the last study" at the end of a range is the final image (:func:`range_end_as_place`).

:mod:`mimir.memory.interpret` applies these before it reads a phrase; ``read`` is its reader, passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from mimir import vocabulary as voc
from mimir.domain import CaseImage
from mimir.memory.grammar import Reference
from mimir.memory.mentions import Hit
from mimir.memory.tokenizer import NOUN_HEADS, Token, range_joiners, tokenize

#: Reads one phrase to the images it names (``mimir.memory.interpret``'s reader, without the anchoring check).
Interpreter = Callable[[Reference, list[CaseImage], str], Hit | None]


def without_apposition(ref: Reference) -> Reference | None:
    """The phrase without a parenthesis that restates it ("the second and the third (the two most recent)"), else None.

    Only when what is outside the parenthesis still picks images by itself (a place in the list or in time).
    """
    opened = [k for k, t in enumerate(ref.tokens) if t.tag == "F" and t.value == "("]
    closed = [k for k, t in enumerate(ref.tokens) if t.tag == "F" and t.value == ")"]
    if not opened or not closed or closed[-1] < opened[0]:
        return None
    outside = ref.tokens[:opened[0]] + ref.tokens[closed[-1] + 1:]
    if not any(t.tag in "OTQ" for t in outside) or not any(t.tag in "OTQ" for t in ref.tokens[opened[0]:closed[-1]]):
        return None
    return Reference(ref.start, ref.end, ref.text, outside)


def last_as_prior(ref: Reference, text: str) -> Reference:
    """"last" after a word a change is measured from: the visit before the current one, not the current one.

    "Has it shrunk since the last scan?", "compared with the last study"; but "the last uploaded image" is a place.
    """
    places = [t for t in ref.tokens if t.tag == "O"]
    if len(places) != 1 or places[0].value != "-1" or places[0].text.lower() != "last" or ref.has("TQY"):
        return ref
    if any(t.tag == "F" and voc.values_in(t.text, "filler") == ["listing"] or t.tag == "N" and voc.find(t.text, "display_noun")
           for t in ref.tokens):
        return ref  # "relative to the last uploaded image", "than the last panel": a place in the list as it was shown
    before = re.sub(r"\s+(?:on|in|at|with)$", "", text[:ref.start].rstrip(), flags=re.I)  # "than on the last scan"
    if not any(m.end == len(before) for m in voc.find(before, "reference_cue")):
        return ref
    tokens = [Token("T", "prior", t.start, t.end, t.text) if t is places[0] else t for t in ref.tokens]
    return Reference(ref.start, ref.end, ref.text, tokens)


def range_end_as_place(ref: Reference, text: str) -> Reference:
    """A time word that is also a place, at the end of a range, read as that place: "from the first study to the last study".

    There "the last study" is the final image, not the visit before the current one.
    """
    before = text[:ref.start].split()
    if not before or before[-1].lower() not in range_joiners() or not any(t.tag == "T" for t in ref.tokens):
        return ref
    tokens = [r for t in ref.tokens for r in as_ordinal(t)]
    return Reference(ref.start, ref.end, ref.text, tokens) if tokens != ref.tokens else ref


def _conjuncts(ref: Reference) -> list[list[Token]]:
    """The conjuncts of a phrase joined by "and" / "&" / "," (one part when it has no joiner)."""
    parts: list[list[Token]] = [[]]
    for t in ref.tokens:
        if t.tag == "C" and t.value in ("and", "&", ","):
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _kinds(parts: list[list[Token]]) -> list[frozenset[str]]:
    """How each conjunct picks images: by a place in the list (O), in time (T), or both."""
    return [frozenset(t.tag for t in p) & frozenset("OT") for p in parts]


def as_ordinal(t: Token) -> list[Token]:
    """A time word that is also a place in the list ("last", "last examination") read as that place."""
    found = [m for m in voc.find(t.text, "ordinal") if m.start == 0] if t.tag == "T" else []
    if not found:
        return [t]
    cut = t.start + found[0].end
    rest = [replace(r, start=r.start + cut, end=r.end + cut) for r in tokenize(t.text[found[0].end:])]
    return [Token("O", found[0].value, t.start, cut, t.text[:found[0].end]), *rest]


def conjoined(ref: Reference, images: list[CaseImage], text: str, read: Interpreter) -> Hit | None:
    """A coordinated phrase whose conjuncts select images by different kinds of word, else None.

    Beside a place in the list, a time word that is also one is read as that place ("the second and the
    last examination" is the second and the final image). Conjuncts that still select differently
    ("the first and the most recent FLAIR") are read one by one, each with the shared head noun, and
    the phrase names the union of their images; a conjunct that names no image leaves the whole phrase
    unsettled, never the others' images alone. Conjuncts that select alike ("the first and third scans",
    "baseline and latest") are read as one phrase.
    """
    parts = _conjuncts(ref)
    kinds = _kinds(parts)
    if len(parts) < 2 or not all(kinds) or len(set(kinds)) == 1:
        return None
    span, n = (ref.start, ref.end, ref.text), len(images)
    if any("O" in k for k in kinds):
        retagged = Reference(ref.start, ref.end, ref.text, [r for t in ref.tokens for r in as_ordinal(t)])
        if retagged.tokens != ref.tokens and len(set(_kinds(_conjuncts(retagged)))) == 1:
            return read(retagged, images, text)
    head = [t for t in parts[-1] if t.tag not in "DQOT"]
    hits = []
    for p in parts:
        own = text[p[0].start:p[-1].end]
        tokens = p if any(t.tag in NOUN_HEADS for t in p) else p + head
        hit = read(Reference(p[0].start, p[-1].end, own, tokens), images, text)
        if hit is None or not hit.indices:
            why = hit.reason if hit is not None else "names no image"
            return Hit(*span, [], 0.0, f"'{own}' of a coordinated phrase: {why}", [[i] for i in range(n)], True)
        hits.append(hit)
    idx = sorted({i for h in hits for i in h.indices})
    reason = "; ".join(h.reason for h in hits)
    unsure = any(h.ambiguous for h in hits)
    return Hit(*span, idx, min(h.confidence for h in hits), reason, [idx] if unsure else [], unsure)
