"""Which image label a question part names, and which sentence of a stem asks after a premise.

A label is an MR sequence, a side or a view ("the FLAIR", "the left eye", "the right MLO"). A label
mention counts when it can name an image: not "both sides", not the side of a part one image shows both
of ("the left lung"), not "left" as what remains ("any tumour left?"), not a label a parenthesis only
denies ("the T2 (not FLAIR)"); a side written as one letter before a sided part ("the L eye") counts as
the reference grammar reads it.
"""

from __future__ import annotations

import re

from mimir import vocabulary as voc

#: The attributes a label names, as the vocabulary's concepts.
LABELS = ("sequence", "laterality", "view")


def labels_found(text: str) -> list[tuple[str, voc.Mention]]:
    """Label mentions that can name an image: not "both sides", not the side of a part one image shows both of."""
    aside = [(g.start(), g.end()) for g in _DENIED_ASIDE.finditer(text)]  # "the T2 (not FLAIR)": FLAIR is no label asked
    found = [(c, m) for c in LABELS for m in voc.find(text, c)
             if (c != "laterality" or m.value != "B" and not _side_of_unsided_part(text, m) and not _left_as_verb(text, m))
             and not any(s <= m.start and m.end <= e for s, e in aside)]
    return found + [("laterality", m) for m in _side_letters(text)]


def _left_as_verb(text: str, side: voc.Mention) -> bool:
    """True for "left" as what remains ("any tumour left?", "some left behind"), not the side ("the left")."""
    if side.text.lower() != "left":
        return False
    after = text[side.end:].lstrip().lower()
    before = text[:side.start].split()
    ends = not after or after[0] in "?.,;:!)" or after.startswith(("behind", "over", "in place", "after", "or "))
    return ends and (not before or before[-1].lower() not in _SIDE_DETERMINERS)


#: Words before "left" that make it the side: a determiner ("the left"), a preposition, or a copula ("which eye is left?").
_SIDE_DETERMINERS = frozenset({"the", "a", "this", "that", "her", "his", "its", "their", "your", "my", "our", "on", "to",
                               "is", "are", "was", "were", "be"})
#: A parenthesis that only denies ("(not FLAIR)", "(non-FLAIR)" after a label says which one is meant).
_DENIED_ASIDE = re.compile(r"\(\s*(?:not|non|no|without)\b[^()]*\)", re.I)


def _side_letters(text: str) -> list[voc.Mention]:
    """Sides written as one letter before a sided part ("the L eye"), as the reference grammar reads them."""
    from mimir.memory.tokenizer import tokenize
    from mimir.termtable import mark_negation

    tokens = tokenize(text)
    letters = [voc.Mention("laterality", str(t.value), t.start, t.end, t.text) for t, nxt in zip(tokens, tokens[1:], strict=False)
               if t.tag == "L" and len(t.text) == 1 and (nxt.tag == "P" or voc.values_in(nxt.text, "sided_part"))]  # not "RCC"
    return list(mark_negation(voc.vocabulary(), text, letters))


def _side_of_unsided_part(text: str, side: voc.Mention) -> bool:
    """True for "the right upper lobe", "the left lung": a side of anatomy that one image shows both of."""
    after = " ".join(text[side.end:].split()[:3])
    return bool(voc.find(after, "body_part")) and not voc.find(after, "sided_part", "image_noun")


def label_named(text: str) -> tuple[str, str, bool] | None:
    """(attribute, value, negated) of the one label a part names."""
    found = labels_found(text)
    values = {(c, m.value) for c, m in found}
    if len(values) == 2 and {c for c, _ in values} == {"sequence"}:  # "T1-weighted post-contrast": keep the narrower
        entries = voc.vocabulary().concept("sequence")
        values = {(c, v) for c, v in values if not any(entries[o].refines == v for _, o in values)}
    if len(values) != 1:
        return None
    concept, value = values.pop()
    return concept, value, any(m.negated for c, m in found)


def several_labels(text: str) -> list[tuple[str, str]]:
    """One value of each of several attributes ("the CC view of the left breast": view CC, side L), else []."""
    found = labels_found(text)
    by_concept: dict[str, set[str]] = {}
    for c, m in found:
        by_concept.setdefault(c, set()).add(m.value)
    if len(by_concept) < 2 or any(len(v) != 1 for v in by_concept.values()) or any(m.negated for _, m in found):
        return []
    return [(c, next(iter(v))) for c, v in by_concept.items()]


def premise_and_question(text: str) -> tuple[str, str] | None:
    """(premise, question) of a stem that states something before it asks, else None.

    Sentences end at ".", "!", ";", ":" or a dash; a clause before a wh-word counts too ("Assuming one of
    them is the T1, which image is the other sequence?").
    """
    sentences = [s for s in re.split(r"(?<=[.!;:])\s+|\s+[-\u2013\u2014]+\s+", text.strip()) if s]
    if len(sentences) < 2:
        sentences = [s for s in re.split(rf",\s+(?={voc.pattern('wh_word')})", text.strip(), flags=re.I) if s]
    return (" ".join(sentences[:-1]), sentences[-1]) if len(sentences) >= 2 else None


def asked_label(text: str) -> tuple[str, str, bool] | None:
    """The label a part asks about: the asking sentence's own where a premise names another.

    "Given that image 1 is the FLAIR, which image is the T2?" asks for the T2.
    """
    if (split := premise_and_question(text)) is not None and (own := label_named(split[1])) is not None:
        return own
    return label_named(text)
