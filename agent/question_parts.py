"""Where a stem's questions start and end: "A, and does it B?" is two questions; a remark or a courtesy is none.

A stem splits at a clause break before a question verb or word, or after a "?". A later part that opens
with no question word and ends in no question mark ("The header is missing.", "y/n") asks nothing, and
neither does a part made only of politeness formulas ("... and do the needful.", "kindly revert") or one that only
lists the choices again ("Which eye is image 1? Left or right?").
"""

from __future__ import annotations

import re
from functools import cache

from mimir import vocabulary as voc


@cache
def _split() -> re.Pattern[str]:
    """Where a stem's next question starts: a clause break before a question verb or word, or after a '?'.

    A break that offers an alternative ("..., or was part of it left?") joins one question's choices.
    """
    opener = f"(?:{voc.pattern('auxiliary')}|{voc.pattern('wh_word')}|{voc.pattern('embedded_question')})"
    breaks = f"(?!{voc.pattern('alternative')}){voc.pattern('clause_break')}"  # "..., or was part of it left?" is one question
    marker = r"(?:\(?(?:[a-h]|i{1,3}|iv)\)\s+)?"  # "..., and (b) is it larger ...": a list marker before the next question
    return re.compile(rf"(?:,|;)?\s+{breaks}\s+{marker}(?={opener})|(?<=\?)\s+(?=\S)", re.I)


def split_parts(stem: str) -> list[str]:
    """The questions of a stem: "A, and does it B?" is two; a plain question is one.

    A statement after a question ("Which sequence is image 2? The header is missing.") asks nothing: it
    is no part of its own.
    """
    parts = [p.strip(" ,;") for p in _split().split(stem) if p and p.strip(" ,;")]
    asked = [p for k, p in enumerate(parts)
             if k == 0 and not (len(parts) > 1 and _remark(p)) or not _statement(p) and not _courtesy(p) and not _choices(p)]
    return asked or [stem]


#: What a list of choices is made of besides the choices: "or", commas, slashes, "either".
_CHOICE_GLUE = re.compile(r"\b(?:or|either)\b|[,/?.!]", re.I)
#: An open end of a list of choices: "T1 or T2 or what?", "left, right or something else?", "T1, T2 etc.?"
_OPEN_END = re.compile(r"\b(?:or\s+(?:what|something\s+else|anything\s+else|other|another(?:\s+one)?|else)|etc\.?|and\s+so\s+on)"
                       r"(?=\W*$)", re.I)


def _choices(part: str) -> bool:
    """True for a part that only lists the answers to choose from ("Left or right?", "Bigger, smaller or same?").

    A list may end open ("T1 or T2 or what?").

    The question before it asks; the options say the choices again.
    """
    listed = " or " in f" {part.lower()} " or bool(_OPEN_END.search(part))
    part = _OPEN_END.sub(" ", part)
    found = voc.find(part, "laterality", "sequence", "view", "answer", "change", "comparative")
    rest = part
    for m in sorted(found, key=lambda m: -m.start):
        rest = rest[:m.start] + " " + rest[m.end:]
    return len(found) >= 2 and listed and not re.search(r"\w", _CHOICE_GLUE.sub(" ", rest))


def _courtesy(part: str) -> bool:
    """True for a part made only of politeness formulas ("and do the needful.", "Thanks!"): it asks nothing."""
    rest = part
    for m in sorted(voc.find(part, "courtesy"), key=lambda m: -m.start):
        rest = rest[:m.start] + rest[m.end:]
    return bool(voc.find(part, "courtesy")) and not re.search(r"\w", rest)


@cache
def _opener() -> re.Pattern[str]:
    return re.compile(rf"\W*(?:{voc.pattern('auxiliary')}|{voc.pattern('wh_word')}|{voc.pattern('embedded_question')})", re.I)


#: What a part may name that makes it a premise of the question, not a remark about the asker.
_CONTENT = ("finding", "change", "resection", "procedure", "sequence", "modality", "laterality", "view", "time", "ordinal",
            "image_noun", "body_part", "sided_part", "comparative", "superlative", "quantity", "diagnosis")


def _remark(part: str) -> bool:
    """True for an opening statement about the asker that names nothing of the images.

    "Sorry if this is a silly question, but which scan ...?", "I'm probably reading this wrong, but ...":
    a hedge before the question, no premise of it ("Image 1 is the FLAIR, and which is the T2?" keeps its first part).
    """
    return _statement(part) and not re.search(r"\d", part) and not voc.find(part, *_CONTENT)


def _statement(part: str) -> bool:
    """True for a part that asks nothing ("The header is missing.", "y/n", "need it as the baseline").

    It opens with no question word and ends in no question mark.
    """
    return not part.rstrip().endswith("?") and not _opener().match(part)
