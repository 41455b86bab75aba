"""Physiological enhancement on T1 post-contrast: the normal structures gadolinium makes bright.

In a real post-contrast T1 scan, structures without a blood-brain barrier or full of slow blood
enhance on every slice: the dura along the inner table, the falx and the dural venous sinuses
(superior sagittal sinus in the midline, transverse sinuses posteriorly), the choroid plexus in the
ventricular atria and cortical veins in the sulci. They are derived here from the MNI152 template
geometry (brain-mask surface, midline plane, ventricular and sulcal CSF), warped with each patient's
deformation and drawn on T1C only. They carry label 0 (not tumour) and are kept away from the lesion.

The result is an enhancement weight in [0, 1] per voxel; :func:`blend` mixes the T1C tissue signal
towards a per-patient bright level with it.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from mimir.demo.anatomy import VOXEL_MM, brain_template, smooth_field, warp

#: Per-patient range of the enhancing structures' signal (display scale, [0, 1]).
LEVEL_RANGE = (0.75, 0.95)
#: Choroid plexus glomus centres in the ventricular atria (MNI mm) and ellipsoid radii (mm).
_CHOROID_CENTRES = ((-27.0, -44.0, 11.0), (27.0, -44.0, 11.0))
_CHOROID_RADII = (8.0, 10.0, 8.0)
#: Lesion neighbourhood kept free of physiological enhancement, in voxels.
LESION_MARGIN_VOX = 2


@functools.cache
def _template_geometry() -> tuple[np.ndarray, np.ndarray]:
    """Template-space weight of the fixed structures and the sulcal-CSF voxel indices (cached)."""
    tpl = brain_template()
    mask = tpl.mask > 0.5
    grid = np.indices(mask.shape, dtype=np.float32)
    x, y, z = (sum(tpl.affine[a, b] * grid[b] for b in range(3)) + tpl.affine[a, 3] for a in range(3))
    depth = ndimage.distance_transform_edt(mask).astype(np.float32) * VOXEL_MM
    csf = tpl.csf
    # superior sagittal sinus: a triangular midline channel under the vertex, widest at the surface
    sss = mask & (np.abs(x) <= 6.0 - 0.6 * depth) & (z > -6.0)
    # internal cerebral veins, vein of Galen and straight sinus: midline CSF behind the third ventricle
    galen = mask & (np.abs(x) <= 2.0) & (csf > 0.5) & (y > -62.0) & (y < -28.0) & (z > -2.0) & (z < 18.0)
    # falx: the thin midline sheet in the interhemispheric fissure above the corpus callosum
    falx = mask & (np.abs(x) < 1.0) & (csf > 0.3) & (z > 24.0) & (depth <= 30.0)
    # transverse sinuses: a band along the posterior-inferior surface from the torcular laterally
    band = np.abs(z - (-4.0 - 0.3 * np.abs(x))) <= 3.0
    transverse = mask & band & (y < -62.0) & (depth <= 4.0)
    choroid = np.zeros(mask.shape, dtype=bool)
    for cx, cy, cz in _CHOROID_CENTRES:
        r = ((x - cx) / _CHOROID_RADII[0]) ** 2 + ((y - cy) / _CHOROID_RADII[1]) ** 2 + ((z - cz) / _CHOROID_RADII[2]) ** 2
        choroid |= (r <= 1.0) & (csf > 0.35) & (depth >= 12.0)
    weight = np.maximum.reduce([sss * 1.0, galen * 0.9, falx * 0.7, transverse * 1.0, choroid * 1.0]).astype(np.float32)
    sulci = np.argwhere(mask & (csf > 0.5) & (depth > 2.0) & (depth <= 14.0) & (np.abs(x) > 4.0))
    return weight, sulci.astype(np.int32)


def _cortical_vessels(rng: np.random.Generator, shape: tuple[int, ...], sulci: np.ndarray) -> np.ndarray:
    """A sparse set of short straight vessel segments (1 voxel thick) starting in sulcal CSF."""
    seeds = sulci[rng.choice(len(sulci), size=150, replace=False)].astype(np.float32)
    direction = rng.standard_normal((len(seeds), 3)).astype(np.float32)
    direction[:, 2] *= 0.4  # mostly in-plane, so the segments show as lines on axial slices
    direction /= np.linalg.norm(direction, axis=1, keepdims=True) + 1e-6
    steps = np.arange(5, dtype=np.float32)[None, :, None]
    lengths = rng.integers(2, 6, size=len(seeds))
    points = seeds[:, None, :] + steps * direction[:, None, :]
    keep = (steps[0, :, 0][None, :] < lengths[:, None]).reshape(-1)
    idx = np.rint(points.reshape(-1, 3)[keep]).astype(np.int64)
    idx = np.clip(idx, 0, np.asarray(shape) - 1)
    out = np.zeros(shape, dtype=np.float32)
    out[idx[:, 0], idx[:, 1], idx[:, 2]] = rng.uniform(0.8, 1.0, size=len(idx)).astype(np.float32)
    return out


def enhancement_map(rng: np.random.Generator, coords: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One patient's enhancement weight in [0, 1] (float32) on the deformed brain ``mask``.

    ``coords`` is the patient's deformation (from :func:`mimir.demo.anatomy.deformation`); the dural
    rim is the outermost voxel layer of the deformed brain mask, with a smooth per-patient thickness
    of signal so it looks discontinuous in places, as dura does.
    """
    fixed, sulci = _template_geometry()
    vessels = _cortical_vessels(rng, fixed.shape, sulci)
    deep = warp(np.maximum(fixed, vessels), coords)
    inside = mask > 0.5
    rim = inside & ~ndimage.binary_erosion(inside)
    dura = rim * (0.75 + 0.2 * smooth_field(rng, mask.shape, coarse=8))
    modulation = 0.9 + 0.1 * smooth_field(rng, mask.shape, coarse=4)
    return (np.clip(np.maximum(deep, dura) * modulation, 0.0, 1.0) * inside).astype(np.float32)


def lesion_free(weight: np.ndarray, lesion: np.ndarray) -> np.ndarray:
    """``weight`` with the lesion and a margin of :data:`LESION_MARGIN_VOX` voxels around it zeroed."""
    if not lesion.any():
        return weight
    m = LESION_MARGIN_VOX
    idx = np.argwhere(lesion)
    box = tuple(slice(max(int(lo) - m, 0), int(hi) + m + 1) for lo, hi in zip(idx.min(0), idx.max(0), strict=True))
    out = weight.copy()
    near = ndimage.binary_dilation(lesion[box], iterations=m, border_value=0)
    out[box][near] = 0.0
    return out


def blend(tissue: np.ndarray, weight: np.ndarray, level: float) -> np.ndarray:
    """T1C tissue signal moved towards the enhancing ``level`` by ``weight`` (partial volume)."""
    return (1.0 - weight) * tissue + weight * level
