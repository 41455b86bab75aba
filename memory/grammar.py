"""Referring phrases as a small grammar: tokens from the clinical vocabulary, chunked into references.

A reference is a noun phrase that names images::

    [determiner] [quantity] [modifiers] head [post-modifiers]
    the          first two  chest       radiographs
    the          two most recent        scans
    the                     left        MLO
    the                     baseline    FLAIR
                                        images      2 and 3
    the                                 scan        from January 2021
    the                                 fundus photo of the left eye

Words come from :mod:`mimir.vocabulary` (ordinals, cardinals, time, modalities, sequences, views,
sides, body parts, image nouns, determiners) plus dates and numbers, tagged by
:mod:`mimir.memory.tokenizer`; the grammar only says how they combine. :mod:`mimir.memory.interpret`
gives a reference its images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from mimir import vocabulary as voc
from mimir.memory.tokenizer import NOUN_HEADS, Token, tokenize, word_class

REF_TAGS = set("DQOTYMSVLBPNH")


@cache
def _bare_next() -> re.Pattern[str]:
    return re.compile(rf"\s*(?:[,.;:?!)]|$|{voc.pattern('predicate')})", re.I)


@dataclass
class Reference:
    """A referring noun phrase and what its words say."""

    start: int
    end: int
    text: str
    tokens: list[Token] = field(default_factory=list)

    def values(self, tag: str) -> list[Any]:
        """Values of the tokens with this tag, in order."""
        return [t.value for t in self.tokens if t.tag == tag]

    def has(self, tags: str) -> bool:
        """True when any token has one of these tags."""
        return any(t.tag in tags for t in self.tokens)

    @property
    def plural(self) -> bool:
        """True when the head noun is plural ("images", "ones")."""
        heads = [t for t in self.tokens if t.tag in NOUN_HEADS or t.tag == "L" and " " in t.text]
        word = heads[-1].text.lower() if heads else ""
        return word.endswith("s") and not word.endswith(("ss", "series", "us")) or word == "fundi"


def _post_ok(tokens: list[Token], i: int) -> bool:
    """True when the preposition at ``i`` opens a post-modifier of a reference, not a new phrase.

    Post-modifiers are a date, a place in the list, a position number, a side or a body part ("the
    scan from 2021", "first in line", "image at position 2"); "the MRI in both views" is two phrases.
    """
    j = i + 1
    while j < len(tokens) and (tokens[j].tag == "D" and tokens[j].value == "definite" or tokens[j].tag == "F"
                               and tokens[j].value not in word_class("list_place")):
        j += 1
    if j >= len(tokens):
        return False
    t = tokens[j]
    nxt = next((x for x in tokens[j + 1:] if x.tag != "F"), None)  # "of these three serial scans": past words that name nothing
    if t.tag in "YB" or t.value in word_class("list_place") or t.tag == "N" and t.text.lower() in word_class("list_place"):
        return True
    if t.tag == "Q" and tokens[j - 1].value in ("position", "number"):
        return True
    if t.tag in "NM" and tokens[i].value == "of" and i and tokens[i - 1].tag in "QO":
        return True  # "the pair of images", "a couple of scans", "the second of the images"
    if t.tag == "Q" and nxt is not None and nxt.tag in "NM" and tokens[i].value == "of" and i and tokens[i - 1].tag in "QO":
        return True  # "the second of the three scans": a place within a counted set
    if t.tag == "O" and t.value in ("1", "-1", "middle") and (nxt is None or nxt.tag not in NOUN_HEADS):
        return True  # "at the top", "in the centre", "at the end"
    return t.tag == "L" and (nxt is None or nxt.tag == "P" or nxt.tag not in NOUN_HEADS)


def _continues(tokens: list[Token], i: int, j: int) -> bool:
    """True when token ``j`` belongs to the phrase that started at ``i``."""
    t, prev = tokens[j], tokens[j - 1]
    if t.tag == "R":
        return _post_ok(tokens, j)
    if t.tag in "CF":
        return True
    if t.tag not in REF_TAGS:
        return False
    if t.tag == "D" and prev.tag not in "CRFD":
        return False  # a determiner opens a new phrase ("... on the left the FLAIR")
    if t.tag == "Q" and prev.text == "-" and tokens[j - 2].tag == "N" and tokens[j - 2].end == prev.start \
            and prev.end == t.start:
        return True  # "IMG-3": a noun hyphenated to its number
    if t.tag == "Q" and prev.tag == "C" and tokens[j - 2].tag != "Q":
        return False  # "the first scan and 76": a number joins only a list of numbers
    last_join = max((k for k in range(i, j) if tokens[k].tag in "CR"), default=i - 1)
    after_head = any(x.tag in "NH" for x in tokens[last_join + 1:j])
    if t.tag == "O" and prev.tag == "N" and " " in t.text.strip():
        return True  # "the scan second from the top", "the image second to last": a place after its noun
    return not after_head or t.tag in "QD" or prev.tag in "CRFD"  # "the study contrast-enhanced": a new phrase


#: Concepts whose words are never an unknown modifier inside a reference (verbs, question words, answers, negation).
_NOT_MODIFIERS = ("predicate", "holds", "auxiliary", "wh_word", "negation", "answer", "clause_break", "identify",
                  "comparative", "superlative", "change", "finding", "quantity", "relation", "exclusion")


def _unknown_modifier(tokens: list[Token], i: int, j: int) -> bool:
    """True for one word the vocabulary does not know between a place or time word and the head noun.

    "the second grainy frame", "the last noisy acquisition": an adjective the vocabulary lacks does not
    break the phrase its known words make. Only one such word, only before a head, and only after an
    ordinal or a time word, so that "the grainy frame" stays a plain noun.
    """
    t = tokens[j]
    if t.tag != "X" or not t.text.isalpha() or j + 1 >= len(tokens) or tokens[j + 1].tag not in NOUN_HEADS:
        return False
    if tokens[j - 1].tag not in "OT" or _has_head(tokens[i:j]):
        return False
    return not voc.find(t.text, *_NOT_MODIFIERS)


def _chunks(tokens: list[Token]) -> list[list[Token]]:
    """Maximal runs of reference words, joiners and post-modifiers (an unknown modifier before the head is passed over)."""
    out: list[list[Token]] = []
    i = 0
    while i < len(tokens):
        if tokens[i].tag not in REF_TAGS:
            i += 1
            continue
        j = i + 1
        skipped: set[int] = set()
        while j < len(tokens):
            if _unknown_modifier(tokens, i, j):
                skipped.add(j)
            elif not _continues(tokens, i, j):
                break
            j += 1
        chunk = [t for k, t in enumerate(tokens[i:j], i) if k not in skipped]
        while chunk and (chunk[-1].tag in "CRD" or chunk[-1].tag == "F" and chunk[-1].value in ("very", "position", "number", "#", "(")):
            chunk.pop()
        if chunk:
            out.append(chunk)
        i = j
    return out


def _split(chunk: list[Token]) -> list[list[Token]]:
    """Split at joiners after a complete noun phrase ("the first image and the second (image)")."""
    parts: list[list[Token]] = [[]]
    for t in chunk:
        if t.tag == "C" and t.value in ("and", "or", "&", ",", "to"):
            parts.append([t])
        else:
            parts[-1].append(t)
    merged = [parts[0]]
    for p in parts[1:]:
        numbers_only = all(t.tag in "QC" for t in p)  # "images 2 and 3": a list of numbers after a head
        if _has_head(merged[-1]) and not numbers_only:
            merged.append(p[1:])  # "the second image, the first": two phrases
        else:
            merged[-1] = merged[-1] + p
    out = []
    for m in merged:
        while m and m[0].tag in "CF":
            m = m[1:]
        while m and m[-1].tag == "C":
            m = m[:-1]
        if len(m) > 1 and m[0].tag == "D" and m[1].tag == "D":
            m = m[1:]  # "either the first or the second": the phrase starts at its own article
        if m:
            out.append(m)
    return out


def _has_head(tokens: list[Token]) -> bool:
    """True when the phrase has its head noun or a time term that stands for one.

    Such a term ends in an image noun ("his last visit", "the index scan") or names a counted visit
    ("the first follow-up").
    """
    return any(t.tag in NOUN_HEADS or t.tag == "T" and (" " in t.text and voc.find(t.text.split()[-1], "image_noun")
                                                         or voc.values_in(t.text, "numbered_visit"))
               for t in tokens)


def references(text: str) -> list[Reference]:
    """Every referring noun phrase of ``text``, in reading order (not yet checked against images)."""
    return list(_references(text))


@lru_cache(maxsize=4096)
def _references(text: str) -> tuple[Reference, ...]:
    tokens = tokenize(text)
    refs = []
    for chunk in _chunks(tokens):
        for part in _split(chunk):
            if len(part) > 1 and part[0].tag == "D" and all(t.tag == "Y" for t in part[1:]):
                part = part[1:]  # "on the 21st of March 2019": the article belongs to the date
            start = part[0].start
            k = tokens.index(part[0])
            if all(t.tag == "Y" for t in part) and k and tokens[k - 1].tag == "R":
                start = tokens[k - 1].start  # "in March 2024"
            end = part[-1].end
            refs.append(Reference(start, end, text[start:end], part))
    return tuple(refs)


def bare_next(text: str, end: int) -> bool:
    """True when what follows a head-less phrase ends it ("the first is", "the prior.", "the latter,")."""
    return bool(_bare_next().match(text, end))
