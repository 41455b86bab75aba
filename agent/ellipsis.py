"""One predicate asked of several comparison references: a question part per reference.

"Compared with the first scan, and separately with the prior, has the mass grown?" asks two
questions with one verb: grown since the first scan, and grown since the prior. So does an
elliptical follow-up that names only a new reference ("Is it larger vs baseline? And vs the prior?").
Each reference gets its own part, worded as the full question with that reference in place of the
first, so that every part is read and measured like a question of its own. The structure is read
through the reference grammar and the vocabulary: references that name images (positions, times,
numbers), the comparison cue before the first ("compared with", "vs", "since"), and between the
coordinated references nothing but joiners, cues, prepositions and adverbs.
"""

from __future__ import annotations

import re

from mimir import vocabulary as voc
from mimir.memory.grammar import Reference, references
from mimir.memory.relations import lead_start
from mimir.memory.tokenizer import range_joiners, word_class

_GLUE_WORD = re.compile(r"[A-Za-z]+|[,;]")


def _names_images(ref: Reference) -> bool:
    return ref.has("OTY") or ref.has("N") and ref.has("Q")


def _image_refs(text: str) -> list[Reference]:
    """References that name images, each with any relational head before it ("the scan just before |the latest")."""
    out = []
    for r in references(text):
        if _names_images(r):
            start = lead_start(text, r.start)
            out.append(r if start is None else Reference(start, r.end, text[start:r.end], r.tokens))
    kept = [r for r in out if not any(o is not r and o.start <= r.start and r.end <= o.end for o in out)]
    return kept


def _cued(text: str, ref: Reference) -> bool:
    """True when a comparison cue stands right before the reference ("compared with the first scan")."""
    return any(c.end <= ref.start and len(text[c.end:ref.start].split()) <= 2 for c in voc.find(text, "reference_cue"))


def compares_with_image(text: str) -> bool:
    """True when an image named in ``text`` stands right after a comparison cue ("smaller than the first")."""
    return any(_cued(text, r) for r in _image_refs(text))


#: A parenthesis with what it says (an elliptical part's restatement of its reference).
_PARENTHESIS = re.compile(r"\s*\([^()]*\)")
#: Markers that number the items of a list ("(a)", "b)", "(ii)"): they coordinate, as a comma does.
_LIST_MARKER = re.compile(r"\(?\b(?:[a-h]|i{1,3}|iv|\d)\)")


def _glue(gap: str, repeated: frozenset[str] = frozenset()) -> bool:
    """True when the words between two references only coordinate them (", and separately with", "and (b) vs").

    ``repeated``: words of the predicate said before the first reference, which the gap may say again
    ("bigger than on film 1, and bigger than on film 2").
    """
    words = [w for w in _GLUE_WORD.findall(_LIST_MARKER.sub(",", gap)) if w.lower() not in repeated]
    if not words or not any(w.lower() in word_class("joiner") - range_joiners() for w in words):
        return False
    cues = {w.lower() for m in voc.find(gap, "reference_cue") for w in m.text.split()}
    adverbs = {w.lower() for m in voc.find(gap, "coordinating_adverb") for w in m.text.split()}
    return all(w in ",;" or w.lower() in word_class("joiner") | word_class("preposition") | cues | adverbs
               or w.lower() in ("with", "to") for w in words)


def distribute(text: str) -> list[str]:
    """The parts of one question whose comparison references are coordinated, else [text]."""
    refs = _image_refs(text)
    for k, a in enumerate(refs):
        if not _cued(text, a):
            continue
        run, joined = [a], False
        repeated = frozenset(w.lower() for m in voc.find(text[:a.start], "comparative", "change") for w in m.text.split())
        for b in refs[k + 1:]:
            gap = text[run[-1].end:b.start]
            if not (_glue(gap, repeated) or gap.strip() in (",", ";")):
                break
            run.append(b)
            joined = _glue(gap, repeated)
        if len(run) > 1 and joined:  # "compared with A, B and C": one part per reference, the others left out
            return [text[:a.start] + r.text + text[run[-1].end:] for r in run]
    return [text]


def complete(previous: str, part: str) -> str | None:
    """An elliptical part ("and vs the prior?") worded in full from the part before it, else None.

    The part must name one image and nothing but coordinating words around it; the previous part
    must compare against one cued reference, which the new reference takes the place of.
    """
    part = _PARENTHESIS.sub("", part)  # "and since the prev one (middle scan)?": the parenthesis restates it
    mine = _image_refs(part)
    lead = next((m.end for m in voc.find(part, "follow_up") if not part[:m.start].strip()), 0)  # "What about ...", "How about ..."
    if len(mine) != 1 or not _glue("and " + part[lead:mine[0].start]) or _GLUE_WORD.findall(part[mine[0].end:]) not in ([], ["?"]):
        return None
    cued = [r for r in _image_refs(previous) if _cued(previous, r)]
    if len(cued) != 1:
        return None
    r = cued[0]
    return previous[:r.start] + mine[0].text + previous[r.end:]
