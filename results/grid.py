"""A label mask (NIfTI, RAS affine) placed on the pixel grids of its DICOM source instances.

The mapping goes through patient coordinates: every source pixel's position (Image Position and
Orientation, Pixel Spacing, in LPS) is carried into the mask's voxel indices, and the nearest label
is taken. So slice order, flips and the column-first arrays MONAI reads DICOM into all come out
right without assuming any of them, and a mask that does not cover its source is caught.
"""

from __future__ import annotations

import numpy as np
from pydicom import Dataset

_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


class GridMismatch(ValueError):
    """The mask does not line up with the source instances."""


def has_geometry(ds: Dataset) -> bool:
    """True when an instance carries its plane position, orientation and pixel spacing."""
    return all(k in ds for k in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"))


def _pixel_points(ds: Dataset) -> np.ndarray:
    """LPS positions (rows, cols, 3) of an instance's pixel centres."""
    origin = np.asarray(ds.ImagePositionPatient, dtype=float)
    iop = np.asarray(ds.ImageOrientationPatient, dtype=float)
    along_row, along_col = iop[:3], iop[3:]  # direction of increasing column index, of increasing row index
    dr, dc = (float(v) for v in ds.PixelSpacing)
    r = np.arange(int(ds.Rows), dtype=float)[:, None, None]
    c = np.arange(int(ds.Columns), dtype=float)[None, :, None]
    return origin + c * dc * along_row + r * dr * along_col


def frames_from_mask(mask: np.ndarray, affine: np.ndarray | None, sources: list[Dataset]) -> np.ndarray:
    """The mask on the sources' grids, (frames, rows, cols) in the sources' order (nearest label)."""
    if mask.ndim not in (2, 3):
        raise GridMismatch(f"a label mask has 2 or 3 axes; this one has shape {mask.shape}")
    if affine is None or not all(has_geometry(ds) for ds in sources):
        return _without_geometry(mask, sources)
    vol = mask[..., None] if mask.ndim == 2 else mask
    to_index = np.linalg.inv(_RAS_TO_LPS @ np.asarray(affine, dtype=float))
    frames = np.zeros((len(sources), int(sources[0].Rows), int(sources[0].Columns)), dtype=mask.dtype)
    hit = np.zeros(vol.shape, dtype=bool)
    for n, ds in enumerate(sources):
        pts = _pixel_points(ds)
        ijk = np.rint(pts @ to_index[:3, :3].T + to_index[:3, 3]).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < np.asarray(vol.shape)), axis=-1)
        i, j, k = (ijk[..., a][inside] for a in range(3))
        frames[n][inside] = vol[i, j, k]
        hit[i, j, k] = True
    missed = int(((vol != 0) & ~hit).sum())
    if missed:
        total = int((vol != 0).sum())
        raise GridMismatch(f"the mask does not line up with its source images: {missed} of {total} labelled "
                           "voxels lie outside every source pixel")
    return frames


def _without_geometry(mask: np.ndarray, sources: list[Dataset]) -> np.ndarray:
    """One 2D instance without plane geometry: MONAI reads DICOM columns first, so the mask is transposed."""
    if len(sources) != 1 or mask.ndim != 2:
        raise GridMismatch("source instances without plane position and orientation can be matched only as "
                           f"one 2D image; got {len(sources)} instances and a mask of shape {mask.shape}")
    rows, cols = int(sources[0].Rows), int(sources[0].Columns)
    if mask.shape != (cols, rows):
        raise GridMismatch(f"mask shape {mask.shape} does not match the source image ({rows} rows x {cols} columns)")
    return np.ascontiguousarray(mask.T)[None]
