"""The planner's reading of images and questions through the one clinical vocabulary (:mod:`mimir.vocabulary`)."""

from __future__ import annotations

import re

from mimir import vocabulary as voc
from mimir.domain import CaseImage
from mimir.tools.framework.capabilities import canonical_modality


def content_words(text: str) -> set[str]:
    """The words of a text that name a thing: vocabulary terms for findings, anatomy, images and grammar left out."""
    rest = text.lower()
    grammar = ("determiner", "joiner", "preposition", "predicate", "auxiliary")
    for m in sorted(voc.find(rest, "finding", "body_part", "image_noun", *grammar), key=lambda m: -m.start):
        rest = rest[:m.start] + " " + rest[m.end:]
    return set(re.findall(r"[a-z]{3,}", rest))


def findings_named(text: str) -> set[str]:
    """The findings a text names (tumour, haemorrhage, oedema, ...)."""
    return set(voc.values_in(text, "finding"))


def modality_of(value: str | None) -> str | None:
    """A metadata modality in the form capabilities declare it ('MRI' -> 'MR', 'OP' and 'FUNDUS' -> 'OP')."""
    return canonical_modality(value)


def modality_named(text: str) -> str | None:
    """The one modality a question names ('MRI', 'the FLAIR' -> MR; 'CT' -> CT); None if none or several."""
    named = set(voc.values_in(text, "modality"))
    if voc.values_in(text, "sequence"):
        named.add("MR")
    return named.pop() if len(named) == 1 else None


def sequence_of(image: CaseImage) -> str | None:
    """The MR sequence an image's series description names, if any."""
    return voc.sequence_of(image.series_description)


def sequence_named(text: str) -> str | None:
    """The one MR sequence a piece of question text names (the narrower one: T1C over T1)."""
    return voc.sequence_of(text)


def side_of(image: CaseImage) -> str | None:
    """'L' or 'R' from an image's laterality metadata."""
    return image.laterality if image.laterality in ("L", "R") else None


def side_value(label: str) -> str:
    """A classifier's side label as 'L' / 'R' ('left' -> 'L'); other labels unchanged."""
    return voc.code_of("laterality", label) or label


def side_named(text: str) -> str | None:
    """'L' or 'R' when the text names exactly one side."""
    side = voc.side_of(text)
    return side if side in ("L", "R") else None

