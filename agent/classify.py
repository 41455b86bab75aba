"""Which Med-MIM ability a question exercises, from its wording and its options (no model)."""

from __future__ import annotations

import re

from pydantic import BaseModel

from mimir.agent.options import change_of
from mimir.domain import Ability, ParsedQuestion, parse_question

_TEMPORAL = re.compile(
    r"\b(progress\w*|regress\w*|stable|improv\w*|worsen\w*|over time|follow[- ]?up|baseline|prior|previous|"
    r"earlier|later|since|interval|evolution|evolv\w*|chang\w*|resect\w*|surgery|residual|recurr\w*|response|course|most recent|latest|earliest)\b", re.I)
_COMPARISON = re.compile(
    r"\b(larger|smaller|bigger|greater|more|less|compare\w*|comparison|differen\w*|both images|"
    r"which (?:image|scan) (?:shows|has) (?:the )?(?:larger|smaller|bigger|more|less))\b", re.I)
_COREF = re.compile(
    r"\b(which (?:image|one|scan|picture|photo)\b|the (?:first|second|third|fourth|last) (?:image|one|scan)|"
    r"image \d|(?:T1|T2|FLAIR|T1C|post-?contrast)\b|left eye|right eye|laterality|sequence|refers? to)", re.I)
_REASONING = re.compile(
    r"\b(diagnos\w*|most likely|why|cause|explain|reason\w*|suggest\w*|indicat\w*|consistent with|"
    r"retinopathy|glaucoma|disease|condition|abnormal\w*|pathology|treatment)\b", re.I)


class QuestionKind(BaseModel):
    """The ability and shape of one question."""

    ability: Ability
    question: ParsedQuestion

    @property
    def closed(self) -> bool:
        """True for multiple-choice questions."""
        return self.question.closed


def classify_question(text: str) -> QuestionKind:
    """Classify ``text`` (stem plus ``A: ...`` option lines) into an ability and its parsed form."""
    parsed = parse_question(text)
    return QuestionKind(ability=ability_of(parsed), question=parsed)


def ability_of(parsed: ParsedQuestion) -> Ability:
    """The ability, deciding by the stem first and the options second.

    Options that name images make it co-reference (which image is X), unless the stem compares
    sizes; a change over visits is temporal; a difference between images without time is
    comparison; a diagnosis or explanation is reasoning.
    """
    stem, options = parsed.stem, " ".join(parsed.options.values())
    names_images = bool(re.search(r"\b(first|second|third|fourth|last|middle) (image|one|scan|in line)|image \d",
                                  options, re.I))
    if names_images and not _COMPARISON.search(stem):
        return "coreference"
    named_changes = sum(change_of(v) is not None for v in parsed.options.values())
    if _TEMPORAL.search(stem) or _TEMPORAL.search(options) or named_changes >= 2 and not _COMPARISON.search(stem):
        return "temporal"
    if _COMPARISON.search(stem):
        return "comparison"
    if _REASONING.search(stem):
        return "reasoning"
    if _COREF.search(stem):
        return "coreference"
    if _REASONING.search(options):
        return "reasoning"
    return "other"


_FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|same for|also)\b", re.I)


def is_follow_up(text: str) -> bool:
    """True for elliptical follow-ups such as 'and in the third image?'."""
    return bool(_FOLLOW_UP.match(text)) and len(text.split()) <= 12
