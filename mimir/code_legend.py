"""Options written as codes whose meaning the stem gives: data-abstraction forms and case report forms.

"Code 1 = increased, 2 = decreased, 0 = unchanged." with options 1 / 2 / 0, or "Code 1 if the lesion
did NOT get smaller, 0 if it did." with options 1 / 0: each option stands for the words the stem gives
its code, and is read as those words. A legend is read only when every option is a short code and the
stem gives each code exactly one meaning; otherwise the options stay as written.
"""

from __future__ import annotations

import re

from mimir import vocabulary as voc

#: An option that is a code: a number, or one or two letters or digits ("1", "0", "Y", "N", "2a").
_CODE = re.compile(r"[A-Za-z0-9]{1,2}")
#: What joins a code to its meaning: "1 = grew", "1: grew", "1 - grew", "1 means grew", "1 if it grew".
_JOIN = r"\s*(?:=|:|\u2192|->|\s-\s|\s+means\s+|\s+stands\s+for\s+|\s+if\s+)\s*"
#: Where a meaning ends: the end of its sentence or of the brackets around the legend.
_END = r"(?=[.?!;:\n)\]]+\s|[\s.?!)\]]*$)"


def decode(stem: str, options: dict[str, str]) -> dict[str, str]:
    """The options with each code replaced by the meaning the stem gives it (unchanged when no legend is read)."""
    codes = {k: v.strip().strip(".") for k, v in options.items()}
    if len(codes) < 2 or not all(_CODE.fullmatch(c) for c in codes.values()) \
            or len({c.lower() for c in codes.values()}) != len(codes):
        return options
    meanings = _legend(stem, list(codes.values()))
    if meanings is None:
        return options
    return {k: meanings[c.lower()] for k, c in codes.items()}


def _legend(stem: str, codes: list[str]) -> dict[str, str] | None:
    """Each code's meaning, when the stem gives every code exactly one; else None."""
    alternatives = "|".join(sorted((re.escape(c) for c in codes), key=len, reverse=True))
    start = re.compile(rf"(?<![A-Za-z0-9#])({alternatives}){_JOIN}", re.I)
    found = [m for m in start.finditer(stem) if _led(stem, m.start())]
    if sorted(m.group(1).lower() for m in found) != sorted(c.lower() for c in codes):
        return None  # a code given no meaning, or one given two
    out: dict[str, str] = {}
    for k, m in enumerate(found):
        stop = found[k + 1].start() if k + 1 < len(found) else len(stem)
        text = stem[m.end():stop]
        end = re.search(_END, text)
        text = text[:end.start()] if end is not None and k + 1 == len(found) else text
        meaning = re.sub(r"(?:[\s,;/]|\bor\b|\band\b)+$", "", text.strip(), flags=re.I).strip(" ,;")
        if not meaning:
            return None
        out[m.group(1).lower()] = meaning
    return out


def _led(stem: str, at: int) -> bool:
    """True when what stands before a code lets it open a legend entry: punctuation, the start, or a legend word.

    The legend words are the vocabulary's ``legend_lead``; after any other word a number belongs to it
    ("pic 1: baseline" names an image).
    """
    before = re.search(r"([A-Za-z]+)\s*$", stem[:at])
    return before is None or bool(voc.values_in(before.group(1), "legend_lead"))
