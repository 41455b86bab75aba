"""Words of a referring phrase tagged for the reference grammar: vocabulary terms, dates, numbers, joiners and the rest.

Each word or term becomes a :class:`Token` with one tag; the words around it then settle what an
ambiguous one is: "one" a pronoun head ("the new one"), "L" a side before a view ("L MLO"), "no." a
filler ("scan no. 2"), "B" after an image noun a place in the list ("picture B").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from mimir import vocabulary as voc
from mimir.memory.dates import date_spans, without_date_deixis
from mimir.termtable import is_numero

_CONCEPT_TAGS = {"determiner": "D", "ordinal": "O", "time": "T", "sequence": "S", "view": "V", "modality": "M",
                 "image_noun": "N", "sided_part": "P", "body_part": "B", "laterality": "L", "cardinal": "Q",
                 "collective": "Q"}
NOUN_HEADS = set("NHMSVP")  # tags that can end a noun phrase as its head noun
_FUSED = re.compile(r"(?<![A-Za-z0-9])(?P<side>[LR])(?P<view>CC|MLO|ML)(?![A-Za-z0-9])")  # RMLO, LCC
_WORD = re.compile(r"[A-Za-z0-9]+(?:'[a-z]+)?|[#&,;:.?!()/-]")
_PUNCT_JOIN = {"&", ",", "-", "/"}  # punctuation that joins like "and"; the words are in the vocabulary


@cache
def word_class(concept: str) -> frozenset[str]:
    """The lower-cased single words of a grammar concept of the vocabulary (joiner, preposition, ...)."""
    return frozenset(t.lower() for e in voc.vocabulary().concept(concept).values() for t in e.terms)


@cache
def range_joiners() -> frozenset[str]:
    """The joiners that span images ("to", "through", "till"): the vocabulary's ``joiner: range``."""
    return frozenset(t.lower() for t in voc.vocabulary().concept("joiner")["range"].terms)


@cache
def _fused_number() -> re.Pattern[str]:
    words = {t.rstrip("*") for e in voc.vocabulary().concept("image_noun").values() for t in (*e.terms, *e.abbreviations)}
    nouns = "|".join(sorted((re.escape(w) + ("s?" if not w.endswith("s") else "") for w in words if w.isalpha()),
                            key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?P<noun>{nouns})(?P<n>\d{{1,2}})(?![A-Za-z0-9])", re.I)


@dataclass
class Token:
    """One word or vocabulary term with its grammatical tag."""

    tag: str  # D Q O T Y M S V L B P N H (reference words), C (joiner), F (filler), R (preposition), X, "."
    value: Any
    start: int
    end: int
    text: str


def _free(taken: list[tuple[int, int]], s: int, e: int) -> bool:
    return all(e <= a or s >= b for a, b in taken)


def tokenize(text: str) -> list[Token]:
    """Tag every word of ``text``: vocabulary terms, dates, numbers, joiners and the rest.

    "last" or "past" right before a date places the date and is no word of its own (``without_date_deixis``).
    """
    text = without_date_deixis(text)
    tokens: list[Token] = []
    taken: list[tuple[int, int]] = []
    for start, end, date in date_spans(text):
        tokens.append(Token("Y", date, start, end, text[start:end]))
        taken.append((start, end))
    for m in _fused_number().finditer(text):  # "pic1", "img2": an image noun written together with its number
        if _free(taken, m.start(), m.end()):
            tokens.append(Token("N", "image", m.start("noun"), m.end("noun"), m.group("noun")))
            tokens.append(Token("Q", int(m.group("n")), m.start("n"), m.end("n"), m.group("n")))
            taken.append((m.start(), m.end()))
    for m in _FUSED.finditer(text):
        if _free(taken, m.start(), m.end()):
            tokens.append(Token("L", m.group("side"), m.start("side"), m.end("side"), m.group("side")))
            tokens.append(Token("V", m.group("view"), m.start("view"), m.end("view"), m.group("view")))
            taken.append((m.start(), m.end()))
    for v in voc.find(text, *_CONCEPT_TAGS):
        if _free(taken, v.start, v.end):
            value: Any = int(v.value) if v.concept in ("cardinal", "collective") else v.value
            tokens.append(Token(_CONCEPT_TAGS[v.concept], value, v.start, v.end, v.text))
            taken.append((v.start, v.end))
    for m in _WORD.finditer(text):
        if _free(taken, m.start(), m.end()):
            tokens.append(_plain(m))
    tokens.sort(key=lambda t: t.start)
    return _retag(tokens, text)


def _plain(m: re.Match[str]) -> Token:
    word = m.group(0)
    low = word.lower()
    if word.isdigit():
        return Token("Q", int(word), m.start(), m.end(), word)
    if low in range_joiners():
        return Token("C", "to", m.start(), m.end(), word)  # "through", "till": a span, read as "to"
    if low in _PUNCT_JOIN or low in word_class("joiner"):
        tag = "C"
    elif low in word_class("preposition"):
        tag = "R"
    elif low in word_class("filler") or low in word_class("list_place") or low in ("#", "(", ")"):
        tag = "F"
    elif low in (".", "?", "!", ";", ":"):
        tag = "."
    else:
        tag = "X"
    return Token(tag, low, m.start(), m.end(), word)


def _retag(tokens: list[Token], text: str) -> list[Token]:
    """Context decides: 'one' as a pronoun head, 'L'/'R' as sides before a view or part, 'no.' as a filler."""
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t.tag == "Q" and isinstance(t.value, int) and i and tokens[i - 1].text.lower() in ("number", "#") \
                and nxt is not None and nxt.tag == "N":
            t.tag, t.value = "O", str(t.value)  # "the number two image": the second image, not two images
            continue
        if t.tag == "Q" and t.text.lower() in ("one", "ones") and not (nxt and nxt.tag in NOUN_HEADS | {"B"}):
            prev = tokens[i - 1] if i else None
            if not (prev and prev.tag in "NF"):  # "image one", "position one" stay numbers
                t.tag, t.value = "H", None
        elif t.tag == "X" and t.text in ("L", "R") and nxt and (nxt.tag in "VP" or _sided(nxt)):
            t.tag, t.value = "L", t.text
        elif t.tag == "X" and is_numero(voc.vocabulary(), text, t.start, t.end):
            t.tag = "F"
        elif t.text == "." and i and (tokens[i - 1].tag == "N" or tokens[i - 1].tag == "F" and tokens[i - 1].text.lower()
                                      in word_class("numero")) and nxt and nxt.tag == "Q":
            t.tag, t.value = "F", "."  # an abbreviation's dot: "scan no. 2", "img. 2" are one phrase
        elif t.tag == "X" and _series_letter(tokens, i):
            t.tag, t.value = "F", t.text  # "exhibit A-2": the series' letter; the number after it is the place
            tokens[i + 1].tag = "F"
        elif t.tag == "X" and (place := _place_name(tokens, i)) is not None:
            t.tag, t.value = "Q", place  # "picture B", "panel (ii)": a place in the list
        elif t.tag == "X" and (place := _place_before_noun(tokens, i)) is not None:
            t.tag, t.value = "O", str(place)  # "the (b) image": the second image
        elif t.tag == "X" and t.text.lower() == "ones":
            t.tag = "H"
        elif t.tag == "X" and voc.values_in(t.text, "numbered_visit") and (i and tokens[i - 1].tag == "O" or nxt is not None
                                                                           and (nxt.tag == "Q" or nxt.text == "#")):
            t.tag, t.value = "T", "latest"  # "the second control", "control #2": a counted follow-up visit
        elif t.tag == "P" and t.text.lower() == "hand" and i >= 2 and tokens[i - 1].text == "-" and tokens[i - 2].tag == "L":
            t.tag, t.value = "F", "hand"  # "the left-hand image": a place on the screen, not a hand
    return tokens


def _sided(t: Token) -> bool:
    """True for a word that names a sided part whatever tag it won ("fundus" is also a modality's word)."""
    return any(m.start == 0 and m.end == len(t.text) for m in voc.find(t.text, "sided_part"))


def _place_name(tokens: list[Token], i: int) -> int | None:
    """The place a letter or roman numeral after an image noun names ("image C", "panel (ii)", "the image labelled B"), else None.

    Bare, it must be written in capitals and not be "I" (a pronoun: "the scan I need"); in parentheses
    any case reads ("figure (b)").
    """
    t = tokens[i]
    opened = i >= 1 and tokens[i - 1].text == "("
    j = i - 2 if opened else i - 1
    while j >= 1 and tokens[j].tag == "F" and tokens[j].text.lower() not in ("(", ")"):
        j -= 1  # "the image labelled B", "the scan marked (ii)"
    noun = tokens[j] if j >= 0 else None
    closed = opened and i + 1 < len(tokens) and tokens[i + 1].text == ")"
    if noun is None or noun.tag != "N" or not (closed or t.text.isupper() and t.text != "I"):
        return None
    return voc.place_value(t.text)


def _series_letter(tokens: list[Token], i: int) -> bool:
    """True for a capital letter joined by a hyphen to a number after an image noun ("exhibit A-2", "image B-1").

    The letter names the series (every image of it carries it), the number the image's place.
    """
    t = tokens[i]
    if not (i >= 1 and tokens[i - 1].tag == "N" and t.text.isalpha() and t.text.isupper() and len(t.text) <= 2):
        return False
    if i + 2 >= len(tokens):
        return False
    hyphen, number = tokens[i + 1], tokens[i + 2]
    return hyphen.text == "-" and hyphen.start == t.end and number.tag == "Q" and number.start == hyphen.end


def _place_before_noun(tokens: list[Token], i: int) -> int | None:
    """The place a letter or roman numeral in parentheses names before an image noun ("the (b) image"), else None."""
    if not (2 <= i and i + 2 < len(tokens) and tokens[i - 1].text == "(" and tokens[i + 1].text == ")"):
        return None
    if tokens[i - 2].tag != "D" or tokens[i + 2].tag != "N":
        return None
    return voc.place_value(tokens[i].text)
