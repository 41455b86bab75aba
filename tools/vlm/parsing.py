"""Turn a VLM's free text into an option letter, robustly and conservatively.

Outcomes: ``letter`` (an explicit letter), ``text_match`` (the option's text without its letter),
``refusal`` (the model declined), ``unparsed`` (nothing, or several letters: ambiguous).
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from mimir.tools.vlm.base import ParseStatus

_MARKUP = re.compile(r"[*_`#>]+")
_EXPLICIT = re.compile(
    r"\b(?:answer|option|choice)\s*(?:is|would be|should be|:|=|-)?\s*(?:option\s*|choice\s*)?"
    r"[\(\[]?([A-Za-z])(?:[\)\]]|(?=[\s.,:;!]|$))",
    re.IGNORECASE,
)
_WHOLE = re.compile(r"^\s*[\(\[]?([A-Za-z])[\)\]]?\s*[.:!]?\s*$")
_LEADING = re.compile(r"^\s*[\(\[]?([A-Z])\s*(?:[\)\]]|[.:\-–]\s)")
_PAREN = re.compile(r"[\(\[]([A-Za-z])[\)\]]")
_JOINED = re.compile(r"\b([A-Z])\s*(?:,|/|\bor\b|\band\b|&)\s*\(?([A-Z])\b")
_REFUSAL = re.compile(
    r"\b(?:cannot|can ?not|can't|unable to|not able to|not possible to|impossible to)\s+"
    r"(?:be\s+)?(?:determine|determined|tell|answer|assess|say|provide|conclude|evaluate|identify)"
    r"|\bI(?:'m| am) sorry\b|\bnot enough information\b|\binsufficient (?:information|data)\b"
    r"|\bI (?:do not|don't) know\b|\bas an AI\b",
    re.IGNORECASE,
)


class ParsedAnswer(BaseModel):
    """A parse result: the letter (or None) and how it was found."""

    letter: str | None
    status: ParseStatus


def parse_closed(text: str, options: dict[str, str]) -> ParsedAnswer:
    """Find the chosen option letter in ``text`` given ``options`` (letter -> option text)."""
    valid = {k.upper() for k in options}
    clean = _MARKUP.sub("", text).strip()
    explicit = _letters(_EXPLICIT.findall(clean), valid)
    if len(explicit) == 1:
        return ParsedAnswer(letter=explicit.pop(), status="letter")
    if len(explicit) > 1:
        return ParsedAnswer(letter=None, status="unparsed")
    if _REFUSAL.search(clean):
        return ParsedAnswer(letter=None, status="refusal")
    found = _candidate_letters(clean, valid)
    if len(found) == 1:
        return ParsedAnswer(letter=found.pop(), status="letter")
    if len(found) > 1:
        return ParsedAnswer(letter=None, status="unparsed")
    match = match_option_text(clean, options)
    if match is not None:
        return ParsedAnswer(letter=match, status="text_match")
    return ParsedAnswer(letter=None, status="unparsed")


def _letters(raw: list[str], valid: set[str]) -> set[str]:
    return {x.upper() for x in raw if x.upper() in valid}


def _candidate_letters(clean: str, valid: set[str]) -> set[str]:
    """Letters given without the word 'answer': alone, leading with punctuation, in brackets, joined."""
    whole = _WHOLE.match(clean)
    if whole:
        return _letters([whole.group(1)], valid)
    found = _letters(_PAREN.findall(clean), valid)
    leading = _LEADING.match(clean)
    if leading:
        found |= _letters([leading.group(1)], valid)
    for a, b in _JOINED.findall(clean):
        joined = _letters([a, b], valid)
        if len(joined) == 2:
            found |= joined
    return found


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9%.]+", " ", s.lower()).split()).strip(" .")


def match_option_text(text: str, options: dict[str, str]) -> str | None:
    """The one option whose text the answer states (or that contains a short answer), else None."""
    answer = f" {_norm(text)} "
    hits = {k.upper(): _norm(v) for k, v in options.items() if _norm(v) and f" {_norm(v)} " in answer}
    # "much larger" also contains "larger": keep only hits not contained in another hit.
    hits = {k: v for k, v in hits.items() if not any(v != w and v in w for w in hits.values())}
    if len(hits) == 1:
        return next(iter(hits))
    short = _norm(text)
    if not hits and short and len(short.split()) <= 6:
        inside = [k.upper() for k, v in options.items() if f" {short} " in f" {_norm(v)} "]
        if len(inside) == 1:
            return inside[0]
    return None
