"""Images and masks as NIfTI volumes for the review screen's viewer (NiiVue).

A viewer pane shows a whole series: a DICOM series' slices stacked in instance order, a NIfTI
volume as it is, a single picture as one slice. Pixels go through the same display transform as
:mod:`mimir.app.pictures` (the transform the mask overlays are known to line up with), then into a
NIfTI whose affine puts rows top to bottom and columns left to right in NiiVue's axial view. A
mask made on one slice of a series is placed at that slice of the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mimir.app import pictures
from mimir.app.refusals import Unreadable
from mimir.app.scope import stored_file
from mimir.memory.models import Image
from mimir.tools.analysis.imaging import load_mask

#: A series taller than this is not stacked (the viewer would hold too much); its image is shown alone.
MAX_SLICES = 512


@dataclass(frozen=True)
class Stack:
    """The files of an image's series in slice order, and where the image itself lies in it."""

    paths: list[Path]
    index: int
    spacing: tuple[float, float, float]


def stack_of(session: Session, image_id: int) -> Stack:
    """The image's series as a stack (just the image when it is alone in its series or a volume)."""
    path = stored_file(session, image_id)
    img = session.get(Image, image_id)
    assert img is not None  # stored_file raised NotFound otherwise
    siblings = list(session.scalars(select(Image).where(Image.series_id == img.series_id, Image.file_format == "dicom")))
    sp = [float(x) for x in (img.spacing or [])] + [1.0, 1.0, 1.0]
    spacing = (sp[0] or 1.0, sp[1] or 1.0, sp[2] or 1.0)
    if img.file_format != "dicom" or not 1 < len(siblings) <= MAX_SLICES or (img.n_slices or 1) > 1:
        return Stack([path], 0, spacing)
    siblings.sort(key=lambda im: (im.instance_number or 0, im.id))
    paths = [stored_file(session, im.id) for im in siblings]
    return Stack(paths, [im.id for im in siblings].index(image_id), spacing)


def _planes(path: Path, loader=None) -> np.ndarray:  # a MONAI loading function
    """(rows, cols, slices) as a person looks at it; colour pictures become grey."""
    a = pictures._display(pictures._read(path, loader), path) if loader else pictures.display_array(path)
    if a.ndim == 3 and a.shape[2] in (3, 4) and path.suffix.lower() in pictures.RASTER:
        a = a[..., :3].mean(axis=2)
    return a[:, :, None] if a.ndim == 2 else a


def _nifti(display: np.ndarray, spacing: tuple[float, float, float], dtype: type) -> bytes:
    """NIfTI bytes: voxel (col, row, slice) -> world (x, -y, z), so row 0 is at the top of the pane."""
    data: np.ndarray = np.ascontiguousarray(np.transpose(display, (1, 0, 2)).astype(dtype))
    affine = np.diag([spacing[0], -spacing[1], spacing[2], 1.0])
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm")
    return bytes(image.to_bytes())


def volume_bytes(stack: Stack) -> bytes:
    """The stack as a NIfTI volume (float32 intensities as stored)."""
    planes = [_planes(p) for p in stack.paths]
    shape = planes[0].shape[:2]
    if any(p.shape[:2] != shape for p in planes):
        raise Unreadable("the slices of this series differ in size; it is shown one image at a time")
    return _nifti(np.concatenate(planes, axis=2), stack.spacing, np.float32)


def mask_bytes(stack: Stack, mask_path: Path) -> bytes:
    """A mask made on the stack's image, as a label volume on the stack's grid (uint8)."""
    mask = _planes(mask_path, load_mask)
    image = _planes(stack.paths[stack.index])
    if mask.shape != image.shape:
        raise Unreadable(f"the mask's shape {mask.shape} does not match the image's {image.shape}")
    if len(stack.paths) == 1:
        return _nifti(mask, stack.spacing, np.uint8)
    full = np.zeros((*mask.shape[:2], len(stack.paths)), np.uint8)
    full[:, :, stack.index] = mask[:, :, 0]
    return _nifti(full, stack.spacing, np.uint8)
