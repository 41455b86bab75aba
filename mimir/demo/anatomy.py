"""Real anatomy the demo patients start from, and the random fields that make each patient unique.

Templates load once per process (``functools.cache``); everything random takes a
``numpy.random.Generator`` so a seed fixes every voxel.

- Brain MRI: nilearn's MNI152 2 mm T1 template, grey- and white-matter templates and brain mask.
- Head CT: the 1 mm CT brain atlas TotalSegmentator ships, resampled to 2 mm. The atlas is
  skull-stripped and in Hounsfield units for brain tissue (about 0 to 50 HU) with 0 outside the
  brain; mimir adds a 6 mm skull shell (bone, 700-1300 HU), a 4 mm scalp (soft tissue, 20-40 HU) and
  air (-1000 HU) outside.
- Fundus: scikit-image's ``retina()`` photograph (a left eye: the optic disc is on the image's left).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

#: Voxel size of every demo volume, in millimetres.
VOXEL_MM = 2.0


@dataclass(frozen=True)
class BrainTemplate:
    """MNI152 2 mm maps as float32 arrays of one shape, plus the template's affine."""

    t1: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    mask: np.ndarray
    affine: np.ndarray


@functools.cache
def brain_template() -> BrainTemplate:
    """Load nilearn's MNI152 2 mm templates (shipped with nilearn, no download)."""
    from nilearn import datasets

    t1 = datasets.load_mni152_template(resolution=2)
    gm = datasets.load_mni152_gm_template(resolution=2).get_fdata(dtype=np.float32)
    wm = datasets.load_mni152_wm_template(resolution=2).get_fdata(dtype=np.float32)
    mask = datasets.load_mni152_brain_mask(resolution=2).get_fdata(dtype=np.float32)
    t1_data = t1.get_fdata(dtype=np.float32) * mask
    csf = np.clip(mask - gm - wm, 0.0, 1.0) * mask
    return BrainTemplate(t1=t1_data, gm=gm * mask, wm=wm * mask, csf=csf, mask=mask, affine=t1.affine.copy())


def _ct_atlas_path() -> Path:
    import totalsegmentator

    path = Path(totalsegmentator.__file__).parent / "resources" / "ct_brain_atlas_1mm.nii.gz"
    if not path.exists():
        raise FileNotFoundError(f"TotalSegmentator's CT brain atlas is missing at {path}; reinstall totalsegmentator")
    return path


@functools.cache
def ct_template() -> np.ndarray:
    """The CT brain atlas at 2 mm with skull, scalp and air added, in HU (float32, RAS axes)."""
    import nibabel as nib

    img = nib.load(str(_ct_atlas_path()))
    hu = np.asarray(img.dataobj, dtype=np.float32)  # type: ignore[attr-defined]
    hu = hu[: hu.shape[0] // 2 * 2, : hu.shape[1] // 2 * 2, : hu.shape[2] // 2 * 2]
    hu = hu.reshape(hu.shape[0] // 2, 2, hu.shape[1] // 2, 2, hu.shape[2] // 2, 2).mean(axis=(1, 3, 5))
    brain = ndimage.binary_fill_holes(ndimage.binary_closing(hu != 0, iterations=2))
    skull = ndimage.binary_dilation(brain, iterations=3) & ~brain
    scalp = ndimage.binary_dilation(brain, iterations=5) & ~brain & ~skull
    out = np.full(hu.shape, -1000.0, dtype=np.float32)
    out[brain] = hu[brain]
    depth = ndimage.distance_transform_edt(~brain)
    out[skull] = 700.0 + 600.0 * np.sin(np.clip(depth[skull] / 3.0, 0, 1) * np.pi)
    out[scalp] = 30.0
    return out


@functools.cache
def retina_photo(size: int) -> np.ndarray:
    """scikit-image's real fundus photograph resized to ``size`` x ``size``, float32 RGB in [0, 1]."""
    from PIL import Image
    from skimage import data

    img = Image.fromarray(data.retina()).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.float32) / 255.0


def smooth_field(rng: np.random.Generator, shape: tuple[int, ...], coarse: int = 5) -> np.ndarray:
    """A smooth random field with values in about [-1, 1].

    A random sum of separable low-frequency cosines (up to ``coarse // 2`` half-periods per axis),
    evaluated with tensor contractions: far cheaper than upsampling noise to full resolution.
    """
    k = max(2, coarse // 2 + 1)
    bases = []
    for n in shape:
        t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        freq = np.arange(k, dtype=np.float32)[None, :]
        bases.append(np.cos(np.pi * freq * t + rng.uniform(0, 2 * np.pi, size=(1, k)).astype(np.float32)))
    decay = np.asarray(sum(np.ix_(*[np.arange(k)] * len(shape))), dtype=np.float32) + 1.0
    field = rng.standard_normal((k,) * len(shape)).astype(np.float32) / decay
    for axis, basis in enumerate(bases):
        field = np.moveaxis(np.tensordot(field, basis, axes=([axis], [1])), -1, axis)
    field = field / (2.0 * float(field.std()) + 1e-6)
    return np.clip(field, -1.0, 1.0).astype(np.float32)


def deformation(rng: np.random.Generator, shape: tuple[int, int, int], amplitude_vox: float = 1.5,
                max_rot_deg: float = 5.0, max_scale: float = 0.05) -> np.ndarray:
    """Sampling coordinates (3, X, Y, Z) for a small rotation about z, scaling and smooth warp."""
    centre = (np.array(shape, dtype=np.float32) - 1) / 2
    angle = np.deg2rad(rng.uniform(-max_rot_deg, max_rot_deg))
    scale = 1.0 + rng.uniform(-max_scale, max_scale, size=3)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    matrix = (rot / scale[None, :]).astype(np.float32)
    grid = np.indices(shape, dtype=np.float32).reshape(3, -1) - centre[:, None]
    coords = matrix @ grid + centre[:, None]
    coords = coords.reshape(3, *shape)
    for axis in range(3):
        coords[axis] += amplitude_vox * smooth_field(rng, shape, coarse=4)
    return coords


def warp(volume: np.ndarray, coords: np.ndarray, order: int = 1, cval: float = 0.0) -> np.ndarray:
    """Resample ``volume`` at ``coords`` (from :func:`deformation`)."""
    out = ndimage.map_coordinates(volume, coords, order=order, mode="constant", cval=cval)
    return out.astype(np.float32)


def pick_voxel(rng: np.random.Generator, candidates: np.ndarray) -> tuple[float, float, float]:
    """One row of an (N, 3) array of voxel indices, drawn uniformly, as floats (a lesion centre)."""
    c = candidates[rng.integers(len(candidates))]
    return float(c[0]), float(c[1]), float(c[2])


def bias_field(rng: np.random.Generator, shape: tuple[int, ...], strength: float = 0.12) -> np.ndarray:
    """A smooth multiplicative intensity inhomogeneity around 1.0."""
    return (1.0 + strength * smooth_field(rng, shape, coarse=3)).astype(np.float32)


def pad_to_square(slice2d: np.ndarray, side: int, fill: float = 0.0) -> np.ndarray:
    """Centre a 2D array (cropping if needed) in a ``side`` x ``side`` canvas."""
    out = np.full((side, side) + slice2d.shape[2:], fill, dtype=slice2d.dtype)
    src, dst = [], []
    for n in slice2d.shape[:2]:
        if n <= side:
            off = (side - n) // 2
            src.append(slice(0, n))
            dst.append(slice(off, off + n))
        else:
            off = (n - side) // 2
            src.append(slice(off, off + side))
            dst.append(slice(0, side))
    out[dst[0], dst[1]] = slice2d[src[0], src[1]]
    return out


def display_slice(volume: np.ndarray, z: int, side: int, fill: float = 0.0, order: int = 1) -> np.ndarray:
    """Axial slice ``z`` of a RAS volume as a radiological-display image ``side`` x ``side``.

    The slice is rotated so anterior is up and the patient's right is on the image's left, padded to a
    256 mm field of view (128 voxels at 2 mm) and resized to ``side``.
    """
    img = np.ascontiguousarray(np.rot90(volume[:, :, z])[:, ::-1])
    canvas = pad_to_square(img, 128, fill=fill)
    if side == 128:
        return canvas
    return ndimage.zoom(canvas, side / 128, order=order, mode="nearest", grid_mode=True).astype(canvas.dtype)
