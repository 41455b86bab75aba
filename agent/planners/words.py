"""The planner's reading of clinical words: modalities, findings, MR sequences and sides named in text."""

from __future__ import annotations

import re

from mimir.domain import CaseImage
from mimir.tools.monai_bundle import normalize_modality

#: A finding named without saying which ("the lesion", "the abnormality"): any lesion target fits it.
GENERIC_FINDING = "lesion"
_FINDINGS = {
    "tumour": r"tumou?rs?|glioma|glioblastoma|gbm|neoplasm|mass|enhanc",
    "haemorrhage": r"ha?emorrhag\w*|bleed\w*|ha?ematoma|\bich\b|hyperdens\w*",
    GENERIC_FINDING: r"lesions?|abnormalit\w*",
}
_MODALITY = (("MR", r"\bmri?\b|\bt1|\bt2|flair|magnetic resonance"), ("CT", r"\bct\b|computed tomography"),
             ("FUNDUS", r"fundus|retina\w*|\beyes?\b"))


def findings_named(text: str) -> set[str]:
    """The kinds of finding a text names (tumour, haemorrhage, lesion)."""
    t = text.lower()
    return {name for name, pattern in _FINDINGS.items() if re.search(pattern, t)}


def modality_of(value: str | None) -> str | None:
    """A metadata modality in the form capabilities declare it ('MRI' -> 'MR', 'OP' -> 'FUNDUS')."""
    return normalize_modality(value)


def modality_named(text: str) -> str | None:
    """The one modality a question names ('MRI', 'the FLAIR' -> MR; 'CT' -> CT); None if none or several."""
    t = text.lower()
    named = {m for m, pattern in _MODALITY if re.search(pattern, t)}
    return named.pop() if len(named) == 1 else None


_SEQUENCES = (("T1C", r"t1\s*c|t1[-_ ]?(ce|gd|post|\+c)|post[-_ ]?contrast|contrast"), ("FLAIR", r"flair"),
              ("T2", r"t2"), ("T1", r"t1"))


def sequence_of(image: CaseImage) -> str | None:
    """The MR sequence named by an image's series description, if any."""
    text = (image.series_description or "").lower()
    for name, pattern in _SEQUENCES:
        if re.search(pattern, text):
            return name
    return None


def sequence_named(text: str) -> str | None:
    """The MR sequence a piece of question text asks about (FLAIR before T2, T1C before T1)."""
    t = text.lower()
    for name, pattern in (("FLAIR", r"flair"), ("T1C", r"t1\s*c\b|t1[-_ ]?(ce|gd)|post[-_ ]?contrast|contrast[- ]enhanced"),
                          ("T2", r"\bt2\b|t2[-_ ]weighted"), ("T1", r"\bt1\b|t1[-_ ]weighted")):
        if re.search(pattern, t):
            return name
    return None


def side_of(image: CaseImage) -> str | None:
    """'L' or 'R' from an image's laterality metadata."""
    return image.laterality if image.laterality in ("L", "R") else None


def side_value(label: str) -> str:
    """A classifier's side label as 'L' / 'R' ('left' -> 'L'); other labels unchanged."""
    return {"left": "L", "right": "R"}.get(label.lower(), label)


def side_named(text: str) -> str | None:
    """'L' or 'R' when the text asks about the left or right eye/side."""
    t = text.lower()
    left, right = bool(re.search(r"\bleft\b|\bos\b", t)), bool(re.search(r"\bright\b|\bod\b", t))
    return "L" if left and not right else "R" if right and not left else None
