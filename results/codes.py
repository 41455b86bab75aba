"""Coded concepts for mimir's SEG and SR: what a label is, where it is, and in which unit it is measured.

Label names come from the experts' metadata ("enhancing tumour", "haemorrhage", "liver"...), so the
type is chosen by words in the name; a name no rule knows is coded as a generic finding with the
name kept as the segment label.
"""

from __future__ import annotations

from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes

#: Words of a label name -> segmented property type (SNOMED CT).
_TYPES: tuple[tuple[tuple[str, ...], CodedConcept], ...] = (
    (("haemorrhage", "hemorrhage", "bleed"), CodedConcept("50960005", "SCT", "Hemorrhage")),
    (("oedema", "edema"), CodedConcept("79654002", "SCT", "Edema")),
    (("necro",), CodedConcept("6574001", "SCT", "Necrosis")),
    (("non-enhanc", "non enhanc", "lesion", "exudate", "drusen", "cavity"), CodedConcept("52988006", "SCT", "Lesion")),
    (("tumour", "tumor", "neoplasm", "enhancing"), CodedConcept("108369006", "SCT", "Neoplasm")),
)
ABNORMAL = CodedConcept("49755003", "SCT", "Morphologically Abnormal Structure")
ANATOMY = CodedConcept("91723000", "SCT", "Anatomical Structure")
FINDING = CodedConcept("404684003", "SCT", "Finding")

#: DICOM Body Part Examined -> finding site.
SITES: dict[str, CodedConcept] = {
    "BRAIN": CodedConcept("12738006", "SCT", "Brain"),
    "HEAD": CodedConcept("12738006", "SCT", "Brain"),
    "EYE": CodedConcept("5665001", "SCT", "Retina"),
    "CHEST": CodedConcept("816094009", "SCT", "Thorax"),
    "BREAST": CodedConcept("76752008", "SCT", "Breast"),
    "ABDOMEN": CodedConcept("818981001", "SCT", "Abdomen"),
}

AREA = codes.SCT.Area
VOLUME = codes.SCT.Volume
LONG_AXIS = codes.SCT.LongAxis
SHORT_AXIS = codes.SCT.ShortAxis
MM = CodedConcept("mm", "UCUM", "millimeter")
MM2 = CodedConcept("mm2", "UCUM", "square millimeter")
ML = CodedConcept("ml", "UCUM", "milliliter")

#: Text items of the report's Qualitative Evaluations: the question, the answer, each statement.
QUALITATIVE = CodedConcept("C0034375", "UMLS", "Qualitative Evaluations")
REQUEST = codes.DCM.Request
IMPRESSION = codes.DCM.Impression
FINDING_TEXT = codes.DCM.Finding
PROCEDURE = codes.SCT.ImagingProcedure


def property_type(label: str) -> tuple[CodedConcept, CodedConcept]:
    """(category, type) of a label: an abnormality when a rule matches its name, else an anatomical structure."""
    lowered = label.lower()
    for words, code in _TYPES:
        if any(w in lowered for w in words):
            return ABNORMAL, code
    return ANATOMY, CodedConcept("85756007", "SCT", "Tissue")


def finding_type(label: str) -> CodedConcept:
    """The finding type of a measurement group about ``label``."""
    category, code = property_type(label)
    return code if category is ABNORMAL else FINDING


def site(body_part: str | None) -> CodedConcept | None:
    """The finding site for a series' Body Part Examined, if mimir knows it."""
    return SITES.get((body_part or "").strip().upper())
