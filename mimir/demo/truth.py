"""Ground-truth records of the demo set: what was simulated, per patient, visit and image.

These models are written to ``ground_truth.json``; every question's answer is derived from them.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["mri", "ct", "fundus", "cxr", "mg"]
Trajectory = Literal["progressing", "stable", "improving", "resection_gtr", "resection_partial", "fundus",
                     "negative", "stable_benign", "new_mass", "growing_calcification", "resolving"]
Change = Literal["progressing", "stable", "improving", "gross-total resection", "partial resection", "new"]

#: Change category thresholds on whole-lesion volume between consecutive visits.
PROGRESSING_MIN_RATIO = 1.40
STABLE_MAX_DELTA = 0.05
IMPROVING_MAX_RATIO = 0.70


class ImageTruth(BaseModel):
    """One image as written: its files (relative to the output folder) and what it shows."""

    png: str
    dicom: str
    nifti: str | None = None
    series_dir: str | None = None
    label_nifti: str | None = None
    label_png: str | None = None
    modality: Literal["MR", "CT", "OP", "CR", "DX", "MG"]
    sequence: str = Field(description="T1, T1C, T2, FLAIR, CT, FUNDUS, XR (chest radiograph) or MG (mammogram)")
    description: str
    laterality: Literal["L", "R"] | None = None
    view: str | None = Field(default=None, description="Radiograph projection (PA, AP) or mammographic view (CC, MLO)")
    finding_mm2: float = Field(default=0.0, description="Chest finding or breast lesion area on this image (mm2 at the patient)")
    diagnosis: str | None = None
    lesions: dict[str, int] = Field(default_factory=dict)
    study_uid: str
    series_uid: str


class VisitTruth(BaseModel):
    """One visit: date, lesion volumes in mL (whole = enhancing + non-enhancing) and change class."""

    index: int
    study_date: date
    change_from_previous: Change | None = None
    whole_ml: float = 0.0
    enhancing_ml: float = 0.0
    necrotic_ml: float = 0.0
    oedema_ml: float = 0.0
    cavity_ml: float = 0.0
    slice_lesion_mm2: float = Field(default=0.0, description="Whole-lesion area on the PNG slice")
    slice_enhancing_mm2: float = 0.0
    finding_mm2: float = Field(default=0.0, description="Chest radiographs: the finding's area; mammograms: the "
                               "lesion's mean area over its breast's CC and MLO views (mm2)")
    age_years: float | None = Field(default=None, description="Patient age at the visit (one decimal)")
    birads: int | None = Field(default=None, description="Mammograms: BI-RADS-style assessment category 0-6")
    images: list[ImageTruth] = Field(default_factory=list)


class PatientTruth(BaseModel):
    """One demo patient's simulation parameters and derived facts."""

    patient_id: str
    patient_name: str
    birth_date: date
    sex: Literal["F", "M"]
    kind: Kind
    trajectory: Trajectory
    slice_index: int | None = Field(None, description="Axial slice of the PNGs (baseline lesion centre)")
    eye_diagnoses: dict[str, str] = Field(default_factory=dict, description="'L'/'R' -> diagnosis")
    finding: str | None = Field(default=None, description="Chest finding, or breast lesion kind (mass, calcification)")
    finding_side: str | None = Field(default=None, description="R, L or B (both)")
    morphology: str | None = Field(default=None, description="Breast lesion: benign or suspicious")
    breast_density: str | None = Field(default=None, description="ACR breast density category A-D")
    visits: list[VisitTruth]


class GroundTruth(BaseModel):
    """The whole set: seed, generator version and patients."""

    seed: int
    generator: str
    patients: list[PatientTruth]


def classify_change(before: float, after: float) -> Change | None:
    """The change class of whole-lesion volume, or None when it falls between classes."""
    if before <= 0:
        return "progressing" if after > 0 else "stable"
    ratio = after / before
    if ratio >= PROGRESSING_MIN_RATIO:
        return "progressing"
    if abs(ratio - 1.0) <= STABLE_MAX_DELTA:
        return "stable"
    if ratio <= IMPROVING_MAX_RATIO:
        return "improving"
    return None
