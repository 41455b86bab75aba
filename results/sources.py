"""What a DICOM result is made from: a segmentation tool run, its mask, and the DICOM instances it segmented.

Anything missing is refused with the reason (``Refused``): a run that wrote no mask, an image that is
not DICOM or not in the timeline, a source file that is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydantic import BaseModel, Field
from pydicom import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session

from mimir.memory.models import Image, Series, ToolRun
from mimir.results.export_errors import Refused
from mimir.tools.analysis.geometry import IndexLesion, LabelMeasurement

__all__ = ["Refused", "SegRun", "SourceSeries", "load_mask", "seg_run", "source_series"]


class SegRun(BaseModel):
    """A segmentation tool run as recorded in the timeline: its mask, labels and measurements."""

    run_id: int
    tool: str
    version: str
    expert: str | None = None
    mask_path: Path
    labels: dict[int, str]
    measurements: list[LabelMeasurement] = Field(default_factory=list)
    index_lesion: IndexLesion | None = None
    input_hash: str | None = None


def seg_run(session: Session, run_id: int) -> SegRun:
    """The recorded segmentation run ``run_id``; ``Refused`` when it is not one."""
    row = session.get(ToolRun, run_id)
    if row is None:
        raise Refused(f"Unknown tool run {run_id}")
    out: dict[str, Any] = row.output or {}
    path = out.get("mask_path") or next((a for a in row.artifacts or [] if str(a).endswith((".nii", ".nii.gz"))), None)
    if not path or not str(path).endswith((".nii", ".nii.gz")):
        raise Refused(f"tool run {run_id} ({row.tool}) wrote no NIfTI label mask; it is not a segmentation")
    measured = [LabelMeasurement.model_validate(m) for m in out.get("measurements") or [] if "value" in m]
    labels = {m.value: m.label for m in measured}
    labels.update({int(k): str(v) for k, v in (out.get("label_names") or {}).items()})
    lesion = out.get("index_lesion")
    return SegRun(run_id=run_id, tool=row.tool, version=row.version, expert=out.get("expert"), mask_path=Path(path),
                  labels=labels, measurements=measured, index_lesion=IndexLesion.model_validate(lesion) if lesion else None,
                  input_hash=row.input_hashes[0] if row.input_hashes else None)


def load_mask(run: SegRun) -> tuple[np.ndarray, np.ndarray]:
    """The run's label mask (integer, 2 or 3 axes) and its RAS affine."""
    import nibabel as nib

    if not run.mask_path.is_file():
        raise Refused(f"the mask of tool run {run.run_id} is missing: {run.mask_path}")
    img: Any = nib.load(str(run.mask_path))
    data = np.asarray(img.dataobj)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 3 and data.shape[-1] == 1:
        data = data[..., 0]
    return np.rint(data).astype(np.int32), np.asarray(img.affine, dtype=float)


@dataclass
class SourceSeries:
    """The DICOM instances one segmentation was made from (one series), in slice order."""

    datasets: list[Dataset]
    image_ids: list[int]
    body_part: str | None

    @property
    def first(self) -> Dataset:
        """The first instance: patient, study and series attributes."""
        return self.datasets[0]


def source_series(session: Session, case_path: str | None, image_id: int | None, content_hash: str | None) -> SourceSeries:
    """The timeline's DICOM instances behind a segmented case image (a file or a series folder)."""
    if case_path and Path(case_path).is_dir():
        return _folder(session, Path(case_path))
    img = session.get(Image, image_id) if image_id else None
    if img is None and content_hash:
        img = session.scalars(select(Image).where(Image.content_hash == content_hash)).first()
    if img is None:
        raise Refused("the segmented image is not in the timeline: ingest its DICOM series first, so the SEG "
                      "can reference it")
    if img.file_format != "dicom":
        raise Refused(f"the segmented image #{img.id} is a {img.file_format} file; a DICOM SEG references the "
                      "DICOM instances it segments")
    ds = _read(Path(img.storage_path), f"source series {img.series.series_uid}, image #{img.id}")
    return SourceSeries([ds], [img.id], img.series.body_part)


def _read(path: Path, what: str) -> Dataset:
    if not path.is_file():
        raise Refused(f"{what}: its file {path} is missing; ingest the series again")
    try:
        ds = pydicom.dcmread(path)
    except (pydicom.errors.InvalidDicomError, OSError, ValueError) as e:
        raise Refused(f"{what}: {path} is not readable DICOM ({e})") from e
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        raise Refused(f"{what}: multi-frame source instances are not supported for SEG export yet")
    return ds


def _folder(session: Session, folder: Path) -> SourceSeries:
    files = sorted(p for p in folder.iterdir() if p.is_file())
    datasets = [_read(p, f"source series folder {folder}") for p in files]
    series = {str(ds.SeriesInstanceUID) for ds in datasets}
    if len(series) != 1:
        raise Refused(f"source folder {folder} holds {len(series)} series; a SEG references exactly one")
    uid = series.pop()
    row = session.scalars(select(Series).where(Series.series_uid == uid)).first()
    if row is None:
        raise Refused(f"source series {uid} is not in the timeline: ingest it first, so the SEG can reference it")
    by_sop = {im.sop_uid: im.id for im in row.images}
    datasets.sort(key=lambda d: (int(d.get("InstanceNumber", 0) or 0), str(d.SOPInstanceUID)))
    return SourceSeries(datasets, [by_sop.get(str(d.SOPInstanceUID), 0) for d in datasets], row.body_part)
