"""Mask geometry: sizes, in-plane diameters, intensity and connected components per label."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError


class LabelMeasurement(BaseModel):
    """Measurements of one label of a mask."""

    label: str
    value: int = Field(description="Label value in the mask")
    voxels: int
    area_mm2: float | None = Field(default=None, description="2D images")
    volume_ml: float | None = Field(default=None, description="3D images")
    longest_diameter_mm: float = Field(description="In-plane; for 3D the largest over axial slices")
    perpendicular_diameter_mm: float = Field(description="Longest width perpendicular to it, same plane")
    mean_intensity: float | None = None
    std_intensity: float | None = None
    components: int = Field(description="Connected components (face-connected)")


def squeeze_to(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Drop singleton axes from a mask when that makes it fit ``shape``."""
    if mask.shape != shape and mask.size == int(np.prod(shape)):
        squeezed = np.squeeze(mask)
        if squeezed.shape == tuple(s for s in shape if s > 1):
            return squeezed.reshape(shape)
    return mask


def _corners(coords: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """Physical corner points of the given pixels (so one pixel measures one pixel wide)."""
    offsets = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    pts = (coords[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    return pts * np.asarray(spacing, dtype=float)


def diameters_2d(region: np.ndarray, spacing: tuple[float, float]) -> tuple[float, float]:
    """(longest diameter, longest perpendicular width) of a 2D boolean region, in mm."""
    coords = np.argwhere(region)
    if len(coords) == 0:
        return 0.0, 0.0
    pts = _corners(coords, spacing)
    try:
        hull = pts[ConvexHull(pts).vertices]
    except QhullError:  # collinear points: a line of pixels
        hull = np.unique(pts, axis=0)
    d = np.linalg.norm(hull[:, None, :] - hull[None, :, :], axis=-1)
    i, j = np.unravel_index(int(np.argmax(d)), d.shape)
    longest = float(d[i, j])
    axis = (hull[j] - hull[i]) / longest
    perp = np.array([-axis[1], axis[0]])
    along, across = pts @ axis, pts @ perp
    step = float(min(spacing)) / 2  # widths are accurate to about one pixel
    bins = np.floor((along - along.min()) / step).astype(int)
    width = 0.0
    for b in np.unique(bins):
        sel = across[bins == b]
        width = max(width, float(sel.max() - sel.min()))
    return longest, width


def measure_label(
    mask: np.ndarray, value: int, name: str, spacing: tuple[float, ...], image: np.ndarray | None
) -> LabelMeasurement:
    """All measurements of label ``value`` (2D or 3D; the last axis of 3D is the slice axis)."""
    region = mask == value
    voxels = int(region.sum())
    voxel_size = float(np.prod(spacing[: mask.ndim]))
    longest, perp = 0.0, 0.0
    if mask.ndim == 2:
        longest, perp = diameters_2d(region, (spacing[0], spacing[1]))
    else:
        for k in np.flatnonzero(region.any(axis=(0, 1))):
            ld, pd = diameters_2d(region[:, :, k], (spacing[0], spacing[1]))
            if ld > longest:
                longest, perp = ld, pd
    mean = std = None
    if image is not None and voxels:
        values = image[region].astype(float)
        mean, std = float(values.mean()), float(values.std())
    _, components = ndimage.label(region)
    size = voxels * voxel_size
    return LabelMeasurement(
        label=name, value=value, voxels=voxels,
        area_mm2=round(size, 3) if mask.ndim == 2 else None,
        volume_ml=round(size / 1000.0, 4) if mask.ndim == 3 else None,
        longest_diameter_mm=round(longest, 3), perpendicular_diameter_mm=round(perp, 3),
        mean_intensity=mean, std_intensity=std, components=int(components),
    )


def measure_mask(
    mask: np.ndarray, spacing: tuple[float, ...], labels: dict[int, str] | None = None,
    image: np.ndarray | None = None,
) -> list[LabelMeasurement]:
    """Measurements of every non-zero label present in ``mask``."""
    names = labels or {}
    values = [int(v) for v in np.unique(mask) if v != 0]
    return [measure_label(mask, v, names.get(v, f"label {v}"), spacing, image) for v in values]


class IndexLesion(BaseModel):
    """The index (target) lesion: the largest connected foreground component, followed over visits.

    As in RECIST/RANO follow-up, change is judged on the target lesion; smaller separate foci
    are reported beside it (``other_components``), not added to it.
    """

    size: float = Field(description="Area (mm², 2D) or volume (mL, 3D) of the component")
    unit: str = Field(description="mm2 or mL")
    enhancing_size: float = Field(description="Part of it labelled enhancing, same unit")
    longest_diameter_mm: float
    centroid_mm: list[float]
    other_components: int = Field(description="Further separate foci, not part of the index lesion")
    other_size: float = Field(description="Their total size, same unit")


def is_enhancing_label(name: str) -> bool:
    """True for an enhancing-tumour label name ("enhancing tumour", "ET"-style names), not "non-enhancing"."""
    from mimir import vocabulary

    return vocabulary.is_enhancing_label(name)


def largest_component(foreground: np.ndarray) -> tuple[np.ndarray, int]:
    """The largest connected component of a boolean mask (full connectivity) and the number of components."""
    comp, n = ndimage.label(foreground, structure=np.ones((3,) * foreground.ndim, dtype=bool))
    if n == 0:
        return np.zeros_like(foreground, dtype=bool), 0
    counts = np.bincount(comp.ravel())[1:]
    return comp == int(np.argmax(counts)) + 1, int(n)


def index_lesion(mask: np.ndarray, spacing: tuple[float, ...], labels: dict[int, str] | None = None) -> IndexLesion | None:
    """The largest connected component of all non-zero labels (full connectivity), or None if empty."""
    foreground = mask > 0
    region, n = largest_component(foreground)
    if n == 0:
        return None
    enhancing = [v for v, name in (labels or {}).items() if is_enhancing_label(name)]
    voxel = float(np.prod(spacing[: mask.ndim]))
    scale, unit = (1.0, "mm2") if mask.ndim == 2 else (1e-3, "mL")
    longest = diameters_2d(region, (spacing[0], spacing[1]))[0] if mask.ndim == 2 else max(
        (diameters_2d(region[:, :, k], (spacing[0], spacing[1]))[0] for k in np.flatnonzero(region.any(axis=(0, 1)))),
        default=0.0,
    )
    centroid = np.argwhere(region).mean(axis=0) * np.asarray(spacing[: mask.ndim], dtype=float)
    return IndexLesion(
        size=round(float(region.sum()) * voxel * scale, 4), unit=unit,
        enhancing_size=round(float((region & np.isin(mask, enhancing)).sum()) * voxel * scale, 4),
        longest_diameter_mm=round(float(longest), 3), centroid_mm=[round(float(c), 2) for c in centroid],
        other_components=n - 1, other_size=round(float((foreground & ~region).sum()) * voxel * scale, 4),
    )
