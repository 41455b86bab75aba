"""A yes/no change question whose verb the vocabulary lacks: that one word read by meaning, with a margin.

"Did the glioma recede since the prior?" names a finding and a visit to compare with, and asks yes or
no, but no word of the vocabulary says which change it asserts. When exactly one word of the stem is
unknown to the vocabulary, that word is read by meaning (:mod:`mimir.agent.prototypes`: the nearest
change category among the vocabulary's own terms, above a floor and ahead of the next by a margin) and
the part asserts that change. Everything else still comes from the grammar: which images, which
finding. Two unknown words, a negation, or no clear category: no reading, and the question keeps its
abstention.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from mimir import vocabulary as voc
from mimir.agent import prototypes

#: The size changes a yes/no question can assert by an unknown verb.
_SIZES = frozenset({"increase", "decrease", "stable"})
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")


@cache
def _concepts() -> tuple[str, ...]:
    return tuple(voc.vocabulary().table)


@lru_cache(maxsize=8192)
def known(word: str) -> bool:
    """True when some term of the vocabulary reads ``word`` on its own."""
    return any(m.start == 0 and m.end == len(word) for m in voc.find(word, *_concepts()))


def unknown_words(text: str) -> list[str]:
    """The words of ``text`` that no vocabulary term covers, in reading order."""
    covered = [(m.start, m.end) for m in voc.find(text, *_concepts())]
    return [m.group(0) for m in _WORD.finditer(text)
            if not any(s <= m.start() and m.end() <= e for s, e in covered) and not known(m.group(0))]


def asserted_by_meaning(text: str, options: tuple[str, ...]) -> tuple[str, str, float] | None:
    """(the unknown word, the change it asserts, its lead) for a yes/no change question with one unknown verb, else None.

    The part must name a finding, set it against another visit or image (a comparison cue, a course or
    a time word), be answered yes or no, and carry no negation (the embedder does not read one).
    """
    if len(options) < 2 or any(voc.answer_of(o) is None for o in options):
        return None
    if voc.is_negated(text) or not voc.find(text, "finding") or not voc.find(text, "reference_cue", "course", "time"):
        return None
    words = unknown_words(text)
    if len(words) != 1:
        return None
    found = prototypes.closest_change(words[0], _SIZES)
    return (words[0], *found) if found is not None else None
