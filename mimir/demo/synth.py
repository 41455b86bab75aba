"""The demo generator's image synthesis API in one place (for expert training and tests)."""

from __future__ import annotations

from mimir.demo.brain import (
    COMPARTMENT_LABELS,
    CONTRASTS,
    BrainSubject,
    TumourState,
    brain_subject,
    brain_visit,
    compartment_labels,
    labels_from_masks,
    mri_slice_sample,
    tumour_masks,
)
from mimir.demo.ct import (
    CT_WINDOW,
    CTSubject,
    HaemorrhageState,
    ct_slice_sample,
    ct_subject,
    ct_visit,
    window_ct,
)
from mimir.demo.fundus import DIAGNOSES, disc_centre, fundus_eye, fundus_sample

__all__ = [
    "COMPARTMENT_LABELS", "CONTRASTS", "CT_WINDOW", "DIAGNOSES", "BrainSubject", "CTSubject", "HaemorrhageState", "TumourState",
    "brain_subject", "brain_visit", "compartment_labels", "ct_slice_sample", "ct_subject", "ct_visit", "disc_centre", "fundus_eye",
    "fundus_sample", "labels_from_masks", "mri_slice_sample", "tumour_masks", "window_ct",
]
