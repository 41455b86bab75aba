"""Mask geometry: sizes, diameters, intensity and connected components per label.

2D masks are pictures; 3D masks are volumes whose last axis is the axial slice axis (the tools hand
volumes over in LPS voxel order, see :mod:`mimir.tools.bundles.slicewise`). In 3D the in-plane diameters are
those of the axial slice where the longest diameter lies, as RANO and RECIST measure them, and the
craniocaudal extent is the third diameter.

The index (target) lesion is the largest connected lesion (all non-zero labels, full connectivity,
in 3D for volumes); smaller separate foci are reported beside it, not added to it. Measurable
disease follows the RANO 2.0 / RECIST 1.1 limit: two perpendicular diameters of at least 10 mm on an
axial image; on a volume the lesion must also be seen on at least two axial slices and hold at least
the volume of a sphere 10 mm across (0.52 mL), its volumetric equivalent. A mask whose lesions all
fall below the limit reads "no measurable disease", which is not the same as "no lesion".

The two in-plane diameters of a region are measured in :mod:`mimir.tools.analysis.diameters`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field
from scipy import ndimage

from mimir.tools.analysis.diameters import diameters_2d, longest_chord, perpendicular_width


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
    craniocaudal_mm: float | None = Field(default=None, description="3D: extent across axial slices")
    axial_slices: int | None = Field(default=None, description="3D: axial slices the label appears on")


def squeeze_to(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Drop singleton axes from a mask when that makes it fit ``shape``."""
    if mask.shape != shape and mask.size == int(np.prod(shape)):
        squeezed = np.squeeze(mask)
        if squeezed.shape == tuple(s for s in shape if s > 1):
            return squeezed.reshape(shape)
    return mask


def bounding_box(region: np.ndarray) -> tuple[slice, ...]:
    """The smallest box holding every True voxel (the whole array when there is none)."""
    boxes = ndimage.find_objects(region.astype(np.uint8))
    return boxes[0] if boxes and boxes[0] is not None else tuple(slice(0, n) for n in region.shape)


def foreground_box(foreground: np.ndarray) -> tuple[slice, ...] | None:
    """The smallest box holding every True voxel of a boolean array, or None when there is none.

    Found from each axis's projection (``any`` over the other axes): cheaper than labelling the
    whole array, and everything outside it is background, so measuring inside it changes nothing.
    """
    box = []
    for axis in range(foreground.ndim):
        hit = np.flatnonzero(foreground.any(axis=tuple(a for a in range(foreground.ndim) if a != axis)))
        if len(hit) == 0:
            return None
        box.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return tuple(box)


def axial_diameters(region: np.ndarray, spacing: tuple[float, ...]) -> tuple[float, float, int]:
    """(longest diameter, its perpendicular, slice index) over the axial slices of a 3D region."""
    longest, axis, where = 0.0, np.array([1.0, 0.0]), -1
    plane = (spacing[0], spacing[1])
    for k in np.flatnonzero(region.any(axis=(0, 1))):
        ld, direction = longest_chord(region[:, :, k], plane)
        if ld > longest:
            longest, axis, where = ld, direction, int(k)
    perp = perpendicular_width(region[:, :, where], plane, axis) if where >= 0 else 0.0
    return longest, perp, where


def craniocaudal(region: np.ndarray, spacing: tuple[float, ...]) -> tuple[float, int]:
    """(extent in mm across axial slices, number of slices) of a 3D region."""
    ks = np.flatnonzero(region.any(axis=(0, 1)))
    if len(ks) == 0:
        return 0.0, 0
    return float((ks[-1] - ks[0] + 1) * spacing[2]), int(len(ks))


#: (longest, perpendicular, craniocaudal, axial slices) of a region.
Diameters = tuple[float, float, float | None, int | None]
#: Figures of regions already measured within one report, by region (shape, spacing, pixels).
Memo = dict[tuple[tuple[int, ...], tuple[float, ...], bytes], Diameters]


def _diameters(region: np.ndarray, spacing: tuple[float, ...], memo: Memo | None = None) -> Diameters:
    """(longest, perpendicular, craniocaudal, axial slices) of a boolean region (the last two None in 2D).

    ``memo``, one per report (not shared between threads), hands back the figures of a region
    already measured: the index lesion is often the very region of a label, or of another component.
    """
    if memo is None:
        return _measure_diameters(region, spacing)
    key = (region.shape, tuple(spacing), region.tobytes())
    if key not in memo:
        memo[key] = _measure_diameters(region, spacing)
    return memo[key]


def _measure_diameters(region: np.ndarray, spacing: tuple[float, ...]) -> Diameters:
    if region.ndim == 2:
        return (*diameters_2d(region, (spacing[0], spacing[1])), None, None)
    ld, pd, _ = axial_diameters(region, spacing)
    return (ld, pd, *craniocaudal(region, spacing))


def measure_label(
    mask: np.ndarray, value: int, name: str, spacing: tuple[float, ...], image: np.ndarray | None,
    box: tuple[slice, ...] | None = None, memo: Memo | None = None,
) -> LabelMeasurement:
    """All measurements of label ``value`` (2D or 3D; the last axis of 3D is the slice axis).

    ``box``, when given, is the label's bounding box (as ``label_boxes`` finds it); ``memo``: see ``_diameters``.
    """
    box = box if box is not None else bounding_box(mask == value)
    local = mask[box] == value
    voxels = int(local.sum())
    voxel_size = float(np.prod(spacing[: mask.ndim]))
    longest, perp, cc, slices = _diameters(local, spacing, memo)
    cc_mm = None if cc is None else round(cc, 3)
    mean = std = None
    if image is not None and voxels:
        values = image[box][local].astype(float)
        mean, std = float(values.mean()), float(values.std())
    _, components = ndimage.label(local)
    size = voxels * voxel_size
    return LabelMeasurement(
        label=name, value=value, voxels=voxels,
        area_mm2=round(size, 3) if mask.ndim == 2 else None,
        volume_ml=round(size / 1000.0, 4) if mask.ndim == 3 else None,
        longest_diameter_mm=round(longest, 3), perpendicular_diameter_mm=round(perp, 3),
        mean_intensity=mean, std_intensity=std, components=int(components),
        craniocaudal_mm=cc_mm, axial_slices=slices,
    )


def measure_mask(
    mask: np.ndarray, spacing: tuple[float, ...], labels: dict[int, str] | None = None,
    image: np.ndarray | None = None, memo: Memo | None = None,
) -> list[LabelMeasurement]:
    """Measurements of every non-zero label in ``mask``, inside the labels' bounding box (``memo``: see ``_diameters``)."""
    names = labels or {}
    box = foreground_box(mask != 0)
    if box is None:
        return []
    mask = mask[box]
    image = image[box] if image is not None else None
    values = [int(v) for v in np.unique(mask) if v != 0]
    boxes = label_boxes(mask)
    return [measure_label(mask, v, names.get(v, f"label {v}"), spacing, image, boxes.get(v), memo)
            for v in values]


def label_boxes(mask: np.ndarray) -> dict[int, tuple[slice, ...]]:
    """The bounding box of each positive label of an integer mask, from one pass over it."""
    if not (np.issubdtype(mask.dtype, np.integer) or mask.dtype == bool):
        return {}
    return {i + 1: box for i, box in enumerate(ndimage.find_objects(mask)) if box is not None}


#: RANO 2.0 / RECIST 1.1: both perpendicular diameters at least this long (mm).
MIN_DIAMETER_MM = 10.0
#: RANO: a measurable lesion is visible on two or more axial slices.
MIN_AXIAL_SLICES = 2
#: The volumetric equivalent of the diameter limit: a sphere 10 mm across (mL).
MIN_VOLUME_ML = round(math.pi / 6 * (MIN_DIAMETER_MM / 10.0) ** 3, 3)
Disease = Literal["none", "non-measurable", "measurable"]


#: Residual enhancing area (mm²) or volume (mL) at or below which a resection counts as gross-total:
#: the planner's reading, and what the expert's resection figures score.
RESIDUAL_MIN = {"mm2": 15.0, "mL": 0.05}


def is_enhancing_label(name: str) -> bool:
    """True for an enhancing-tumour label name ("enhancing tumour", "ET"-style names), not "non-enhancing"."""
    from mimir import vocabulary

    return vocabulary.is_enhancing_label(name)


class IndexLesion(BaseModel):
    """The index (target) lesion: the largest connected foreground component, followed over visits."""

    size: float = Field(description="Area (mm², 2D) or volume (mL, 3D) of the component")
    unit: str = Field(description="mm2 or mL")
    enhancing_size: float = Field(description="Part of it labelled enhancing, same unit")
    longest_diameter_mm: float = Field(description="Longest in-plane (axial) diameter")
    centroid_mm: list[float]
    other_components: int = Field(description="Further separate foci, not part of the index lesion")
    other_size: float = Field(description="Their total size, same unit")
    perpendicular_diameter_mm: float = Field(default=0.0, description="Longest width perpendicular to it, same slice")
    craniocaudal_mm: float | None = Field(default=None, description="3D: extent across axial slices (third diameter)")
    axial_slices: int | None = Field(default=None, description="3D: axial slices it appears on")
    bidimensional_product_mm2: float = Field(default=0.0, description="Longest x perpendicular diameter (RANO)")
    label_sizes: dict[str, float] = Field(default_factory=dict, description="Size of each label inside it, same unit")
    measurable: bool = Field(default=False, description="Meets the RANO/RECIST measurable-disease limit")
    measurable_components: int = Field(default=0, description="Components (index lesion included) that are measurable")


def largest_component(foreground: np.ndarray) -> tuple[np.ndarray, int]:
    """The largest connected component of a boolean mask (full connectivity) and the number of components."""
    comp, n = ndimage.label(foreground, structure=np.ones((3,) * foreground.ndim, dtype=bool))
    if n == 0:
        return np.zeros_like(foreground, dtype=bool), 0
    counts = np.bincount(comp.ravel())[1:]
    return comp == int(np.argmax(counts)) + 1, int(n)


def measurable(longest: float, perpendicular: float, slices: int | None, volume_ml: float | None) -> bool:
    """The RANO/RECIST limit: two diameters >= 10 mm; in 3D also >= 2 slices and >= 0.52 mL."""
    if longest < MIN_DIAMETER_MM or perpendicular < MIN_DIAMETER_MM:
        return False
    if slices is None:
        return True
    return slices >= MIN_AXIAL_SLICES and (volume_ml or 0.0) >= MIN_VOLUME_ML


def _component_measurable(local: np.ndarray, spacing: tuple[float, ...], voxel_ml: float, memo: Memo | None) -> bool:
    """Whether a component (its bounding box's boolean region) meets the measurable-disease limit."""
    ld, pd, _, n = _diameters(local, spacing, memo)
    return measurable(ld, pd, n, float(local.sum()) * voxel_ml if local.ndim == 3 else None)


def index_lesion(mask: np.ndarray, spacing: tuple[float, ...], labels: dict[int, str] | None = None,
                 memo: Memo | None = None) -> IndexLesion | None:
    """The largest connected component of all non-zero labels (full connectivity), or None if empty.

    ``memo``: see ``_diameters``.
    """
    origin = foreground_box(mask > 0)  # measured inside the foreground's bounding box
    if origin is None:
        return None
    mask = mask[origin]
    comp, n = ndimage.label(mask > 0, structure=np.ones((3,) * mask.ndim, dtype=bool))
    counts = np.bincount(comp.ravel())[1:]
    order = np.argsort(-counts, kind="stable") + 1
    boxes = ndimage.find_objects(comp)  # every component's box in one pass
    names = labels or {}
    voxel = float(np.prod(spacing[: mask.ndim]))
    scale, unit = (1.0, "mm2") if mask.ndim == 2 else (1e-3, "mL")
    box = boxes[order[0] - 1]
    local, local_mask = comp[box] == order[0], mask[box]
    ld, pd, cc, slices = _diameters(local, spacing, memo)
    size = float(local.sum()) * voxel * scale
    enhancing = [v for v, name in names.items() if is_enhancing_label(name)]
    values, value_counts = np.unique(local_mask[local], return_counts=True)
    label_sizes = {names.get(int(v), f"label {int(v)}"): round(float(c) * voxel * scale, 4)
                   for v, c in zip(values, value_counts, strict=True)}
    is_measurable = measurable(ld, pd, slices, size if mask.ndim == 3 else None)
    others = sum(1 for k in order[1:] if _component_measurable(comp[boxes[k - 1]] == k, spacing, voxel * 1e-3, memo)) \
        if is_measurable else 0
    corner = [s.start + o.start for s, o in zip(box, origin, strict=True)]
    centroid = (np.argwhere(local).mean(axis=0) + corner) * np.asarray(spacing[: mask.ndim], dtype=float)
    other_voxels = int(counts.sum()) - int(counts[order[0] - 1])
    return IndexLesion(
        size=round(size, 4), unit=unit,
        enhancing_size=round(float((local & np.isin(local_mask, enhancing)).sum()) * voxel * scale, 4),
        longest_diameter_mm=round(float(ld), 3), centroid_mm=[round(float(c), 2) for c in centroid],
        other_components=n - 1, other_size=round(float(other_voxels) * voxel * scale, 4),
        perpendicular_diameter_mm=round(float(pd), 3), craniocaudal_mm=None if cc is None else round(cc, 3),
        axial_slices=slices, bidimensional_product_mm2=round(float(ld * pd), 2), label_sizes=label_sizes,
        measurable=is_measurable, measurable_components=int(is_measurable) + others,
    )


def disease(target: IndexLesion | None) -> Disease:
    """'none' (empty mask), 'non-measurable' (only lesions below the limit) or 'measurable'."""
    if target is None:
        return "none"
    return "measurable" if target.measurable else "non-measurable"


def assessment(target: IndexLesion | None) -> str:
    """The disease status in words, with the index lesion's size and diameters."""
    if target is None:
        return "no lesion"
    dims = f"{target.longest_diameter_mm:.0f} x {target.perpendicular_diameter_mm:.0f}"
    if target.craniocaudal_mm is not None:
        dims += f" x {target.craniocaudal_mm:.0f}"
    size = f"{target.size:.2f} {target.unit}" if target.unit == "mL" else f"{target.size:.0f} {target.unit}"
    if not target.measurable:
        return f"no measurable lesion (largest focus {size}, {dims} mm; limit 10 x 10 mm)"
    return f"measurable lesion: {size}, {dims} mm"
