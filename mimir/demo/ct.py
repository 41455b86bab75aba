"""Head CT with an intraparenchymal haemorrhage on TotalSegmentator's real CT brain atlas.

Values are Hounsfield units. Display and 2D samples use the brain window (width 80, level 40): HU in
[0, 80] maps linearly to [0, 1] and is clipped outside, so a 60-90 HU haemorrhage is near white and
brain (about 25-45 HU) mid-grey. Label: 0 background, 1 haemorrhage.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mimir.demo.anatomy import (
    VOXEL_MM,
    ct_template,
    deformation,
    display_slice,
    pick_voxel,
    smooth_field,
    warp,
)

#: Brain window (low, high) in HU used for PNGs and 2D samples.
CT_WINDOW: tuple[float, float] = (0.0, 80.0)


def window_ct(hu: np.ndarray, window: tuple[float, float] = CT_WINDOW) -> np.ndarray:
    """Map HU to [0, 1] with the brain window (float32)."""
    lo, hi = window
    return np.clip((hu - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class HaemorrhageState:
    """A haemorrhage at one visit: radius in mm of an irregular blob and its density in HU."""

    radius_mm: float = 0.0
    density_hu: float = 75.0

    @property
    def present(self) -> bool:
        """True when the visit shows a haemorrhage."""
        return self.radius_mm > 0


@dataclass(frozen=True)
class CTSubject:
    """One patient's deformed head CT (HU) and haemorrhage site."""

    hu: np.ndarray
    brain: np.ndarray
    affine: np.ndarray
    centre_vox: tuple[float, float, float]
    shape_field: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """Volume shape (x, y, z), RAS voxel order."""
        return self.hu.shape

    @property
    def lesion_slice(self) -> int:
        """Axial slice index through the haemorrhage centre."""
        return int(round(self.centre_vox[2]))


def _ras_affine(shape: tuple[int, ...]) -> np.ndarray:
    affine = np.diag([VOXEL_MM, VOXEL_MM, VOXEL_MM, 1.0])
    affine[:3, 3] = -VOXEL_MM * (np.array(shape[:3]) - 1) / 2
    return affine


def ct_subject(rng: np.random.Generator) -> CTSubject:
    """A new patient: the CT atlas with a small random deformation and a haemorrhage site."""
    tpl = ct_template()
    coords = deformation(rng, tpl.shape, amplitude_vox=1.0)
    hu = warp(tpl, coords, cval=-1000.0)
    brain = (hu > -5) & (hu < 90) & ndimage.binary_erosion(hu > -100, iterations=4)
    c = pick_voxel(rng, _centre_candidates(brain, tpl.shape[2]))
    return CTSubject(hu=hu, brain=brain, affine=_ras_affine(hu.shape), centre_vox=c,
                     shape_field=smooth_field(rng, hu.shape, coarse=6))


def _centre_candidates(brain: np.ndarray, depth_z: int) -> np.ndarray:
    """Brain voxels at least 22 mm from its edge, in the upper two thirds of the head when any are, (N, 3)."""
    depth_mm = ndimage.distance_transform_edt(brain) * VOXEL_MM
    zmin = int(depth_z * 0.35)
    candidates = np.argwhere(depth_mm >= 22.0)
    return candidates[candidates[:, 2] >= zmin] if (candidates[:, 2] >= zmin).any() else candidates


def haemorrhage_mask(subject: CTSubject, bleed: HaemorrhageState, zslab: slice | None = None) -> np.ndarray:
    """Boolean haemorrhage mask inside the brain."""
    zs = zslab or slice(0, subject.shape[2])
    brain = subject.brain[:, :, zs]
    if not bleed.present:
        return np.zeros(brain.shape, dtype=bool)
    grid = np.indices(brain.shape, dtype=np.float32)
    grid[2] += zs.start or 0
    radial = np.sqrt(sum(((grid[i] - subject.centre_vox[i]) * VOXEL_MM) ** 2 for i in range(3)))
    return (radial / (1.0 + 0.2 * subject.shape_field[:, :, zs]) < bleed.radius_mm) & brain


def ct_visit(subject: CTSubject, bleed: HaemorrhageState, rng: np.random.Generator,
             zslab: slice | None = None) -> dict[str, np.ndarray]:
    """Render one visit: ``HU`` (float32 Hounsfield units) and ``labels`` (uint8, 1 = haemorrhage)."""
    zs = zslab or slice(0, subject.shape[2])
    mask = haemorrhage_mask(subject, bleed, zs)
    hu = subject.hu[:, :, zs].copy()
    if mask.any():
        soft = ndimage.gaussian_filter(mask.astype(np.float32), 0.6)
        ring = ndimage.binary_dilation(mask, iterations=2) & ~mask & subject.brain[:, :, zs]
        hu[ring] -= 8.0
        clot = bleed.density_hu * (1.0 + 0.04 * subject.shape_field[:, :, zs])
        hu = (1.0 - soft) * hu + soft * clot
    hu = hu + rng.normal(0.0, 3.0, size=hu.shape).astype(np.float32)
    return {"HU": np.round(hu).astype(np.float32), "labels": mask.astype(np.uint8)}


def random_haemorrhage(rng: np.random.Generator) -> HaemorrhageState:
    """A haemorrhage of random size (none in about 1 in 5) and density 60-90 HU."""
    if rng.random() < 0.2:
        return HaemorrhageState()
    return HaemorrhageState(radius_mm=float(rng.uniform(4.0, 22.0)), density_hu=float(rng.uniform(60.0, 90.0)))


#: Anatomies per sample pool; pools are disjoint (experts train on pool 0, are evaluated on pool 1).
POOL_SIZE = 6


@functools.lru_cache(maxsize=2 * POOL_SIZE)
def _pooled_subject(pool: int, key: int) -> tuple[CTSubject, np.ndarray]:
    subject = ct_subject(np.random.default_rng([20240612, pool, key]))
    return subject, _centre_candidates(subject.brain, subject.shape[2])


def ct_slice_sample(rng: np.random.Generator, size: int = 128, pool: int = 0,
                    anywhere: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One axial head CT slice near the haemorrhage, brain-windowed to [0, 1], and its 0/1 label.

    The head is one of ``POOL_SIZE`` deformed atlases of sample pool ``pool``; the haemorrhage's
    site, size and density and the noise are new on every call. ``anywhere`` cuts the slice at any
    axial level of the head instead (skull base and vertex included; most miss the haemorrhage).
    """
    base, candidates = _pooled_subject(pool, int(rng.integers(POOL_SIZE)))
    subject = dataclasses.replace(base, centre_vox=pick_voxel(rng, candidates))
    if anywhere:
        levels = np.flatnonzero((subject.hu > -500).any(axis=(0, 1)))
        z = int(np.clip(rng.integers(levels[0], levels[-1] + 1), 1, subject.shape[2] - 2))
    else:
        z = int(np.clip(subject.lesion_slice + rng.integers(-3, 4), 1, subject.shape[2] - 2))
    visit = ct_visit(subject, random_haemorrhage(rng), rng, zslab=slice(z - 1, z + 2))
    image = display_slice(window_ct(visit["HU"]), 1, size)
    label = display_slice(visit["labels"], 1, size, order=0)
    return image, label
