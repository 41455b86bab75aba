"""What image metadata says about a vocabulary attribute: modality, MR sequence, view, side, body part.

Header values are read through :mod:`mimir.vocabulary` (``DX`` and ``CR`` are radiographs, ``OS`` is
the left eye, ``AX T1 POST GAD`` is a post-contrast T1), so a question's words and an image's
headers meet in one table.
"""

from __future__ import annotations

from collections.abc import Iterable

from mimir import vocabulary as voc
from mimir.domain import CaseImage

#: Attributes that usually describe every image of a single-kind case ("the MRI", "the chest films"):
#: with no such metadata on any image they are ignored instead of being flagged as unknown.
DESCRIPTIVE = ("modality", "body_part")


def image_value(concept: str, img: CaseImage) -> str | None:
    """The value of ``concept`` that an image's metadata gives, or None when it says nothing."""
    if concept == "sequence":
        other = img.modality is not None and voc.code_of("modality", img.modality) != "MR"
        return "none" if other else voc.sequence_of(img.series_description)  # a CT has no MR sequence
    if concept == "laterality":
        return img.laterality
    field = {"modality": img.modality, "view": img.view, "body_part": img.body_part}.get(concept)
    return voc.code_of(concept, field)


def verdict(concept: str, values: Iterable[str], img: CaseImage) -> bool | None:
    """True/False when the metadata says whether the image is one of ``values``; None when it cannot tell."""
    found = image_value(concept, img)
    if found is None:
        return None
    wanted = set(values)
    return found in wanted or concept == "laterality" and found == "B"


def verdicts(filters: dict[str, set[str]], images: list[CaseImage]) -> tuple[list[bool | None], dict[str, set[str]]]:
    """Per image: True (every filter holds), False (one fails) or None (some cannot be told).

    Descriptive filters with no metadata on any image are dropped; the filters kept are returned.
    """
    kept = {c: v for c, v in filters.items()
            if c not in DESCRIPTIVE or any(image_value(c, img) is not None for img in images)}
    out: list[bool | None] = []
    for img in images:
        each = [verdict(c, v, img) for c, v in kept.items()]
        out.append(False if False in each else None if None in each else True)
    return out, kept


def label(filters: dict[str, set[str]]) -> str:
    """Human words for a set of filters ("left MLO", "T1-weighted post-contrast")."""
    return " ".join("/".join(voc.name_of(c, v) for v in sorted(vals)) for c, vals in filters.items())
