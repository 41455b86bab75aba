"""Words mistyped by one keystroke, read as the clinical word meant: "smaler" as "smaller", "grwon" as "grown".

A word is respelled only when all of these hold, so that nothing a writer meant is changed:

- it is neither a word of the clinical vocabulary (:mod:`mimir.vocabulary`) nor an English word
  (the English frequency list that ships with ``pyspellchecker``: "stale", "letter" and "lesson" stay);
- it is written in letters only, at least four of them, and not in capitals ("TIRM" is an abbreviation);
- it is no contraction written without its apostrophe ("theres", "isnt");
- exactly one vocabulary word lies one edit away: a letter left out, added, replaced, or swapped with its
  neighbour.

Nothing else is guessed: a word with no such neighbour, or with two, is left as written and the
readers treat it as unknown.

Two other writings are read as the English meant: a weighting dictated in words ("T two", "tee one" as
"T2", "T1"), and a comparative followed by "as" where English writes "than" ("bigger as on the first",
as German and colloquial Dutch "als" is carried over).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from mimir import vocabulary as voc

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"(?<![\w'-])[A-Za-z]{4,}(?![\w'-])")
#: The shortest vocabulary word a typo is read as (shorter words have too many neighbours to guess from).
MIN_LENGTH = 4


@cache
def _clinical_words() -> frozenset[str]:
    """Every word of every term of the vocabulary, lower-cased; a stem before ``*`` only where it is a word itself."""
    table = voc.vocabulary().table
    english = _english()
    words: set[str] = set()
    for entries in table.values():
        for e in entries.values():
            for t in e.terms:
                found = re.findall(r"[a-z]+\*?", t.lower())
                words |= {w.rstrip("*") for w in found if not w.endswith("*") or english is not None
                          and english.known([w.rstrip("*")])}  # type: ignore[attr-defined]
    return frozenset(w for w in words if len(w) >= MIN_LENGTH)


@cache
def _english() -> object | None:
    try:
        from spellchecker import SpellChecker
    except ImportError:  # without the English list nothing can be told apart from a typo: respell nothing
        return None
    return SpellChecker(distance=1)


def _edits(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return deletes | swaps | replaces | inserts


@lru_cache(maxsize=8192)
def respelled(word: str) -> str | None:
    """The vocabulary word a mistyped ``word`` stands for, else None."""
    low = word.lower()
    english = _english()
    if english is None or word.isupper() or low in _clinical_words() or english.known([low]):  # type: ignore[attr-defined]
        return None
    if english.known([f"{low[:i]}'{low[i:]}" for i in range(1, len(low))]):  # type: ignore[attr-defined]
        return None  # a contraction written without its apostrophe ("theres", "isnt") is no typo
    near = _edits(low) & _clinical_words()
    if len(near) != 1:
        return None
    right = near.pop()
    return right.capitalize() if word[0].isupper() else right


#: An MR weighting dictated in words ("T two weighted", "T-one", "tee one"): the letter and a spelled digit.
_DICTATED_WEIGHTING = re.compile(r"\b([Tt]|[Tt]ee)[- ](one|two)\b", re.I)


def respell(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with its one-keystroke typos of vocabulary words corrected, and the (written, read) pairs.

    A weighting dictated in words ("T two weighted") is read as written in digits ("T2 weighted").
    """
    changed: list[tuple[str, str]] = []

    def digit(m: re.Match[str]) -> str:
        right = f"T{'1' if m.group(2).lower() == 'one' else '2'}"
        changed.append((m.group(0), right))
        return right

    text = _DICTATED_WEIGHTING.sub(digit, text)
    text = _comparative_as(text, changed)

    def fix(m: re.Match[str]) -> str:
        right = respelled(m.group(0))
        if right is None:
            return m.group(0)
        changed.append((m.group(0), right))
        return right

    return _WORD.sub(fix, text), changed


#: "as" right after a comparative, then no comma: "bigger as on the first" (never "as big as": "big" is no comparative).
_AS_AFTER = re.compile(r"(\s+)as\b(?!\s*(?:if|though|well|such|a result|of)\b)", re.I)


def _comparative_as(text: str, changed: list[tuple[str, str]]) -> str:
    """``text`` with "as" after a comparative read as "than"; each change added to ``changed``.

    Only comparatives of more than the bare "more" or "less" ("more as a precaution" is no comparison),
    and not "as if", "as well", "as a result" after them.
    """
    for m in reversed(voc.find(text, "comparative")):
        if m.value == "equal" or m.text.lower() in ("more", "less"):
            continue
        after = _AS_AFTER.match(text, m.end)
        if after is None:
            continue
        changed.append((text[m.start:after.end()], f"{m.text}{after.group(1)}than"))
        text = f"{text[:m.end]}{after.group(1)}than{text[after.end():]}"
    return text
