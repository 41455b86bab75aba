"""NIfTI headers (nibabel) plus an optional JSON sidecar to ``ImageRecord``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
from nibabel.filebasedimages import ImageFileError

from mimir.memory.ingest.records import BadFile, ImageRecord, derived_uid, guess_sequence
from mimir.memory.ingest.sidecar import read_sidecar

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti(path: Path) -> bool:
    """True for .nii and .nii.gz names."""
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def read_nifti(path: Path, content_hash: str) -> ImageRecord:
    """Shape and spacing from the header; patient and study facts from ``<file>.json`` if present."""
    try:
        img: Any = nib.load(str(path))  # a spatial image: shape and zooms are header facts
        shape = tuple(int(s) for s in img.shape)
        zooms = [float(z) for z in img.header.get_zooms()[:3]]
    except (ImageFileError, OSError, EOFError, ValueError) as e:
        raise BadFile(f"not a readable NIfTI file: {type(e).__name__}: {e}") from e
    meta = read_sidecar(path)
    patient = (meta.patient if meta else None) or f"nifti:{content_hash[:16]}"
    study_date = meta.study_date if meta else None
    modality = meta.modality if meta else None
    study_uid = (meta.study_uid if meta else None) or derived_uid("study", patient, study_date, modality)
    desc = meta.description if meta else None
    return ImageRecord(
        path=str(path), content_hash=content_hash, file_format="nifti", patient_key=patient,
        study_uid=study_uid, series_uid=derived_uid("series", study_uid, content_hash),
        study_date=study_date, modality=modality, series_description=desc, study_description=desc,
        sequence=(meta.sequence if meta else None) or guess_sequence(desc),
        laterality=meta.laterality if meta else None, view=meta.view if meta else None,
        body_part=meta.body_part if meta else None, report=meta.report if meta else None,
        rows=shape[0] if shape else None, cols=shape[1] if len(shape) > 1 else None,
        n_slices=shape[2] if len(shape) > 2 else 1, spacing=zooms,
    )
