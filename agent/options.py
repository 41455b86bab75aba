"""Map option texts to what tools can establish: a change category, an image, a label, yes/no.

Matching is by synonyms on normalised words, so "Progressive disease", "the lesion has grown" and
"larger" all map to ``increase``. A mapping is only used when exactly one option matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

Change = Literal["increase", "decrease", "stable", "gross_total", "partial", "new", "resolved"]

_CHANGE_WORDS: dict[Change, tuple[str, ...]] = {
    "increase": ("progress", "larger", "bigger", "increas", "grow", "grew", "enlarg", "worse", "expan", "advanc",
                 "deteriorat",
                 "more extensive", "greater"),
    "decrease": ("improv", "smaller", "decreas", "shrink", "shrank", "reduc", "regress", "respon", "resolving",
                 "less extensive", "better"),
    "stable": ("stable", "unchanged", "no change", "no significant change", "similar", "same", "no interval"),
    "gross_total": ("gross total", "gross-total", "complete resection", "completely resected", "no residual",
                    "fully resected", "entirely resected",
                    "total resection", "gtr"),
    "partial": ("partial", "subtotal", "sub-total", "residual", "incomplete", "str"),
    "new": ("new lesion", "newly", "appeared", "new "),
    "resolved": ("resolved", "disappeared", "no longer", "complete response", "complete resolution"),
}
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "1st": 0, "2nd": 1, "3rd": 2,
             "4th": 3, "initial": 0, "earlier": 0, "former": 0}


def _norm(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9+\- ]+", " ", text.lower()).strip() + " "


def change_of(text: str) -> Change | None:
    """The change category an option names, or None when it names none or several."""
    t = _norm(text)
    hits = {c for c, words in _CHANGE_WORDS.items() if any(_contains(t, w) for w in words)}
    if "respon" in t:  # "partial response" / "complete response" are response categories, not resections
        hits -= {"partial", "gross_total"}
    if {"gross_total", "partial"} <= hits:
        hits -= {"partial"} if "no residual" in t else {"gross_total"}
    if "resolved" in hits:
        hits = {"resolved"}
    if "gross_total" in hits or "partial" in hits:
        hits -= {"increase", "decrease", "stable", "resolved"}
    return next(iter(hits)) if len(hits) == 1 else None


def _contains(text: str, word: str) -> bool:
    if len(word) <= 3:
        return f" {word} " in text
    return word in text


def image_of(text: str, n_images: int) -> int | None:
    """The 0-based image an option names ('the second image', 'Image 2', 'the last one')."""
    t = _norm(text)
    if m := re.search(r"\b(?:image|scan|picture|photo)\s*(?:no\s*)?(\d+)\b", t):
        k = int(m.group(1)) - 1
        return k if 0 <= k < n_images else None
    found = [i for w, i in _ORDINALS.items() if re.search(rf"\b{w}\b", t)]
    if n_images == 3 and re.search(r"\b(middle|centre|center)\b", t):
        found.append(1)
    if re.search(r"\b(last|latest|final|later|most recent)\b", t):
        found.append(n_images - 1)
    found = sorted(set(found))
    if len(found) == 1 and found[0] < n_images:
        return found[0]
    return None


def yes_no(text: str) -> bool | None:
    """True for 'yes', False for 'no', None otherwise."""
    t = _norm(text).strip()
    if re.match(r"^(yes|true|correct)\b", t):
        return True
    if re.match(r"^(no|false|incorrect)\b", t):
        return False
    return None


def pick(options: dict[str, str], predicate: Callable[[str], bool]) -> str | None:
    """The one letter whose option text satisfies ``predicate``, else None."""
    letters = [k for k, v in options.items() if predicate(v)]
    return letters[0] if len(letters) == 1 else None


def letter_for_change(options: dict[str, str], change: Change) -> str | None:
    """The single option naming ``change`` (falling back from resection categories to sizes)."""
    letter = pick(options, lambda v: change_of(v) == change)
    if letter is None and change == "resolved":
        letter = pick(options, lambda v: change_of(v) in ("decrease", "gross_total"))
    return letter


def letter_for_image(options: dict[str, str], index: int, n_images: int) -> str | None:
    """The single option naming image ``index``."""
    return pick(options, lambda v: image_of(v, n_images) == index)


def letter_for_label(options: dict[str, str], label: str) -> str | None:
    """The single option naming a label ('FLAIR', 'T1C', 'left eye'), matched as a whole word."""
    aliases = LABEL_ALIASES.get(label.upper(), (label,))
    return pick(options, lambda v: any(re.search(rf"(?<![a-z0-9]){re.escape(a.lower())}(?![a-z0-9])",
                                                 v.lower()) for a in aliases))


LABEL_ALIASES: dict[str, tuple[str, ...]] = {
    "T1": ("T1", "T1-weighted", "T1 weighted", "T1w"),
    "T1C": ("T1C", "T1-Gd", "T1 post-contrast", "post-contrast T1", "contrast-enhanced T1", "T1CE", "T1c", "T1+C"),
    "T2": ("T2", "T2-weighted", "T2 weighted", "T2w"),
    "FLAIR": ("FLAIR", "T2-FLAIR", "fluid-attenuated"),
    "L": ("left", "OS", "left eye"),
    "R": ("right", "OD", "right eye"),
}
