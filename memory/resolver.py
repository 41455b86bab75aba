"""Co-reference resolution: bind mentions in a question to the case's images.

Mentions are noun phrases read by a small grammar over the clinical vocabulary
(:mod:`mimir.memory.grammar`): positions ("the first image", "image 2", "the last two"), time ("the
prior", "baseline", "the 2020 study", "six months ago") and metadata ("the FLAIR", "the left MLO",
"the two chest radiographs"), in any combination. The stem and each option line are resolved
separately. Where a mention has two readings the binding lists them as ``candidates`` and the
resolution is marked ``ambiguous``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from mimir import vocabulary as voc
from mimir.domain import Binding, Case, CaseImage, Resolution, parse_question
from mimir.memory.grammar import references
from mimir.memory.interpret import interpret
from mimir.memory.mentions import Hit
from mimir.memory.relations import relative
from mimir.memory.temporal import find_ago


@cache
def _other_pattern() -> re.Pattern[str]:
    """The pattern of "the other", with an optional head noun from the vocabulary ("the other eye")."""
    heads = "|".join(voc.pattern(c) for c in ("image_noun", "modality", "sequence", "sided_part"))
    return re.compile(rf"\bthe\s+other(?:\s+(?:one|{heads}))?(?![A-Za-z0-9])", re.I)


def _settle(hits: Iterable[Hit]) -> list[Hit]:
    """Keep the longest mention where spans overlap; earlier finders win ties."""
    ranked = sorted(enumerate(hits), key=lambda p: (-(p[1].end - p[1].start), p[0]))
    kept: list[Hit] = []
    for _, h in ranked:
        if all(h.end <= k.start or h.start >= k.end for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: h.start)


def _other(m: re.Match[str], before: list[Hit], n: int) -> Hit:
    named = {i for h in before for i in h.indices}
    rest = [i for i in range(n) if i not in named]
    if before and len(rest) == 1:
        return Hit(m.start(), m.end(), m.group(0), rest, 0.85, "the image not mentioned before it")
    return Hit(m.start(), m.end(), m.group(0), [], 0.0, "'the other' with no single remaining image",
               [[i] for i in (rest or range(n))], True)


def _both(h: Hit, context: list[Hit]) -> Hit:
    """'both' among three or more images means the two images named just before it, if exactly two."""
    named = sorted({i for c in context if not c.ambiguous for i in c.indices})
    if len(named) != 2:
        return h
    return Hit(h.start, h.end, h.text, named, 0.8, "both: the two images named before it")


def resolve_text(text: str, images: list[CaseImage], context: list[Hit] | None = None) -> list[Hit]:
    """Mentions in one piece of text, in reading order; ``context`` holds mentions from the stem."""
    found = [h for ref in references(text) if (h := interpret(ref, images, text)) is not None]
    hits = _settle([*find_ago(text, images), *found])
    idioms = [(i.start, i.end) for i in voc.find(text, "idiom")]
    for m in _other_pattern().finditer(text):
        if any(a <= m.start() and m.end() <= b for a, b in idioms):
            continue  # "the other way round", "on the other hand": no image
        if all(m.end() <= h.start or m.start() >= h.end for h in hits):
            hits.append(_other(m, [h for h in hits if h.end <= m.start()], len(images)))
        else:
            hits = [h for h in hits if h.end <= m.start() or h.start >= m.end()]
            hits.append(_other(m, [h for h in hits if h.end <= m.start()], len(images)))
    hits.sort(key=lambda h: h.start)
    hits = relative(text, hits, images, lambda rest: resolve_text(rest, images), context)
    before = list(context or [])
    out = []
    for h in hits:
        out.append(_both(h, before) if h.needs_context == "both" else h)
        before.append(out[-1])
    return out


def _binding(h: Hit) -> Binding:
    cands = h.candidates if h.ambiguous else []
    return Binding(mention=h.text.strip(), image_indices=h.indices, confidence=round(h.confidence, 3),
                   candidates=cands, reason=h.reason, unbound=h.unbound)


def resolve(case: Case) -> Resolution:
    """Bind every mention in the case's question (stem and options) to image indices."""
    parsed = parse_question(case.question)
    stem = resolve_text(parsed.stem, case.images)
    hits = stem + [h for opt in parsed.options.values() for h in resolve_text(opt, case.images, stem)]
    bindings = [_binding(h) for h in hits]
    return Resolution(bindings=bindings, ambiguous=any(b.candidates for b in bindings))


def option_images(case: Case) -> dict[str, list[int]]:
    """For each option letter, the images the option names by itself ("B: the penultimate scan" -> [1]).

    An option whose mentions are ambiguous, or that names no image, maps to an empty list.
    """
    parsed = parse_question(case.question)
    stem = resolve_text(parsed.stem, case.images)
    out: dict[str, list[int]] = {}
    for letter, text in parsed.options.items():
        hits = resolve_text(text, case.images, stem)
        out[letter] = [] if any(h.ambiguous for h in hits) else sorted({i for h in hits for i in h.indices})
    return out
