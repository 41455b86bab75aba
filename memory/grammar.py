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
sides, body parts, image nouns, determiners) plus dates and numbers; the grammar only says how they
combine. :mod:`mimir.memory.interpret` gives a reference its images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from mimir import vocabulary as voc
from mimir.memory.dates import date_spans, without_date_deixis
from mimir.termtable import is_numero

_CONCEPT_TAGS = {"determiner": "D", "ordinal": "O", "time": "T", "sequence": "S", "view": "V", "modality": "M",
                 "image_noun": "N", "sided_part": "P", "body_part": "B", "laterality": "L", "cardinal": "Q",
                 "collective": "Q"}
REF_TAGS = set("DQOTYMSVLBPNH")
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
def _bare_next() -> re.Pattern[str]:
    return re.compile(rf"\s*(?:[,.;:?!)]|$|{voc.pattern('predicate')})", re.I)


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
