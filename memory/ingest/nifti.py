"""NIfTI headers (nibabel) plus an optional JSON sidecar to ``ImageRecord``."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import nibabel as nib
from nibabel.filebasedimages import ImageFileError

from mimir.memory.ingest.records import BadFile, ImageRecord, derived_uid, guess_sequence
from mimir.memory.ingest.sidecar import read_sidecar

NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: Dimensions mimir reads: 2-D, 3-D, and 4-D (of which it shows the first volume).
MAX_DIMS = 4
_CHUNK = 1 << 20


def is_nifti(path: Path) -> bool:
    """True for .nii and .nii.gz names."""
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def read_nifti(path: Path, content_hash: str) -> ImageRecord:
    """Shape and spacing from the header; patient and study facts from ``<file>.json`` if present."""
    img, shape = nifti_header(path)
    check_complete(path, data_end(img))
    zooms = [float(z) for z in img.header.get_zooms()[:3]]
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


def nifti_header(path: Path) -> tuple[Any, tuple[int, ...]]:
    """The image (header only, data not read) and its shape; BadFile beyond 4 dimensions."""
    try:
        img: Any = nib.load(str(path))  # a spatial image: shape and zooms are header facts
        shape = tuple(int(s) for s in img.shape)
    except (ImageFileError, OSError, EOFError, ValueError) as e:
        raise BadFile(f"not a readable NIfTI file: {type(e).__name__}: {e}") from e
    if len(shape) > MAX_DIMS:
        raise BadFile(f"a {len(shape)}-D NIfTI image {shape}: mimir reads 2-D to 4-D images")
    return img, shape


def data_end(img: Any) -> int:
    """Bytes the file must hold (uncompressed): header and extensions, then every voxel."""
    n = 1
    for s in img.shape:
        n *= int(s)
    return int(img.dataobj.offset) + n * int(img.get_data_dtype().itemsize)


def check_complete(path: Path, nbytes: int) -> None:
    """BadFile unless the (decompressed) file holds ``nbytes``; reads at most that many, in chunks."""
    try:
        if not path.name.lower().endswith(".gz"):
            size = path.stat().st_size
            if size < nbytes:
                raise BadFile(f"truncated NIfTI file: {size} of {nbytes} bytes")
            return
        with gzip.open(path, "rb") as f:
            left = nbytes
            while left > 0:
                chunk = f.read(min(_CHUNK, left))
                if not chunk:
                    raise BadFile(f"truncated NIfTI file: {nbytes - left} of {nbytes} bytes")
                left -= len(chunk)
    except (OSError, EOFError, zlib.error) as e:
        raise BadFile(f"truncated or corrupt NIfTI file: {type(e).__name__}: {e}") from e
