"""Writing demo images: 8-bit PNG, NIfTI (with a JSON sidecar) and DICOM (key image or series).

Everything written is a function of its inputs: no clocks, no random UIDs, gzip without time stamps,
so the same seed gives byte-identical files. UIDs come from ``pydicom.uid.generate_uid`` with a
deterministic entropy source.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    VLPhotographicImageStorage,
    generate_uid,
)

_SOP_CLASS = {"MR": MRImageStorage, "CT": CTImageStorage, "OP": VLPhotographicImageStorage,
              "CR": ComputedRadiographyImageStorage, "DX": DigitalXRayImageStorageForPresentation,
              "MG": DigitalMammographyXRayImageStorageForPresentation}


def opaque_name(*parts: object) -> str:
    """A 20-hex-digit name derived from ``parts``: says nothing about dates, sequences or answers."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def uid(*parts: object) -> UID:
    """A deterministic DICOM UID under pydicom's root."""
    return generate_uid(entropy_srcs=[str(p) for p in parts])


@dataclass
class DicomMeta:
    """Header facts shared by every instance of one series."""

    patient_id: str
    patient_name: str
    birth_date: date
    sex: str
    study_uid: str
    series_uid: str
    study_date: date
    study_time: str
    modality: str
    series_description: str
    series_number: int
    body_part: str
    study_description: str
    accession: str
    laterality: str | None = None
    view: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


def write_png(path: Path, image: np.ndarray) -> None:
    """Save a [0, 1] float image (H, W) or (H, W, 3) as 8-bit PNG; uint8 arrays are written as is."""
    data = image if image.dtype == np.uint8 else np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data).save(path, format="PNG", optimize=False)


def write_nifti(path: Path, volume: np.ndarray, affine: np.ndarray, sidecar: dict[str, object] | None = None,
                scale: float | None = None) -> None:
    """Save a RAS volume; floats in [0, 1] are stored as int16 with ``scl_slope = 1/scale``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if scale is not None:
        img = nib.Nifti1Image(np.round(volume * scale).astype(np.int16), affine)
        img.header.set_slope_inter(1.0 / scale, 0.0)
    else:
        img = nib.Nifti1Image(volume, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, str(path))
    if sidecar is not None:
        path.with_name(path.name + ".json").write_text(json.dumps(sidecar, sort_keys=True, indent=1, default=str))


def base_dataset(meta: DicomMeta) -> Dataset:
    """A dataset with the patient, study and series modules filled in."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = _SOP_CLASS.get(meta.modality, SecondaryCaptureImageStorage)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = uid("mimir-demo-implementation")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientID, ds.PatientName = meta.patient_id, meta.patient_name
    ds.PatientBirthDate, ds.PatientSex = meta.birth_date.strftime("%Y%m%d"), meta.sex
    ds.StudyInstanceUID, ds.SeriesInstanceUID = meta.study_uid, meta.series_uid
    ds.FrameOfReferenceUID = uid("frame", meta.study_uid)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = meta.study_date.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = meta.study_time
    ds.StudyID, ds.AccessionNumber = meta.accession[-8:], meta.accession
    ds.StudyDescription, ds.SeriesDescription = meta.study_description, meta.series_description
    ds.ProtocolName = meta.series_description
    ds.Modality, ds.SeriesNumber, ds.BodyPartExamined = meta.modality, meta.series_number, meta.body_part
    ds.Manufacturer, ds.InstitutionName = "mimir demo generator", "mimir demo hospital"
    ds.ReferringPhysicianName = ""
    ds.PatientPosition = "HFS" if meta.modality in ("MR", "CT") else ""
    if meta.laterality:
        ds.ImageLaterality = ds.Laterality = meta.laterality
    if meta.view:
        ds.ViewPosition = meta.view
    for key, value in meta.extra.items():
        setattr(ds, key, value)
    return ds


def set_pixels(ds: Dataset, pixels: np.ndarray) -> None:
    """Image pixel module and pixel data: RGB uint8 for (H, W, 3), 12-bit MONOCHROME2 otherwise."""
    if pixels.ndim == 3:
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        data = pixels.astype(np.uint8)
    else:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        data = np.clip(pixels, 0, 4095).astype(np.uint16)
    ds.PixelRepresentation = 0
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.PixelData = np.ascontiguousarray(data).tobytes()


def write_instance(path: Path, ds: Dataset, pixels: np.ndarray, instance: int, sop_uid: UID,
                   position: tuple[float, float, float] | None = None, spacing: float | None = None) -> None:
    """Write one instance of ``ds``'s series (``ds`` is reused: only per-instance fields change)."""
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = instance
    if position is not None and spacing is not None:
        ds.ImagePositionPatient = [round(float(v), 4) for v in position]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [spacing, spacing]
        ds.SliceLocation = round(float(position[2]), 4)
    set_pixels(ds, pixels)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def lps_slice(volume: np.ndarray, k: int) -> np.ndarray:
    """Axial slice ``k`` of a RAS volume as DICOM pixels for orientation (1,0,0,0,1,0)."""
    return np.ascontiguousarray(volume[::-1, ::-1, k].T)


def lps_position(affine: np.ndarray, i: float, j: float, k: float) -> tuple[float, float, float]:
    """Patient (LPS) position of RAS voxel (i, j, k)."""
    x, y, z = (affine @ np.array([i, j, k, 1.0]))[:3]
    return -float(x), -float(y), float(z)
