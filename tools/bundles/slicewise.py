"""2D experts over volumes: slice by slice in the volume's real orientation and spacing.

mimir's 2D experts (and any 2D bundle that reads PNG or DICOM slices with MONAI's readers) see a
picture in MONAI's layout: axis 0 runs across the picture from the patient's right to left, axis 1
down it from anterior to posterior. That is the LPS voxel order, so a volume is reoriented to LPS
(axis 2 then runs from inferior to superior) and cut into axial slices. Each slice is centred on a
canvas covering the expert's field of view in millimetres (``fov_mm`` in the bundle's ``mimir``
block; else the slice's own larger side), so the expert sees anatomy at the scale it was trained on
whatever the volume's spacing. The masks are cut back out of the canvases, stacked and returned in
the volume's own voxel order, ready to be saved with the volume's affine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mimir.tools.analysis.imaging import ImageData
    from mimir.tools.bundles.engine import ExpertEngine

LPS = ("L", "P", "S")
#: Slices per forward pass when a volume runs slice by slice.
SLICE_BATCH = 16
Region = tuple[slice, slice]


@dataclass(frozen=True)
class Reoriented:
    """A volume in LPS voxel order, its spacing (mm), affine, and the way back to the original order."""

    array: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    back: np.ndarray

    def restore(self, volume: np.ndarray) -> np.ndarray:
        """``volume`` (in LPS order) in the original voxel order."""
        from nibabel import orientations

        return np.ascontiguousarray(orientations.apply_orientation(volume, self.back))


def to_lps(array: np.ndarray, affine: np.ndarray | None) -> Reoriented:
    """``array`` (X, Y, Z) reoriented so that its axes point left, posterior and superior."""
    from nibabel import orientations

    affine = np.eye(4) if affine is None else np.asarray(affine, dtype=float)
    ornt = orientations.io_orientation(affine)
    target = orientations.axcodes2ornt(LPS)
    forward = orientations.ornt_transform(ornt, target)
    out = orientations.apply_orientation(array, forward)
    new_affine = affine @ orientations.inv_ornt_aff(forward, array.shape)
    spacing = tuple(float(v) or 1.0 for v in np.linalg.norm(new_affine[:3, :3], axis=0))
    return Reoriented(np.ascontiguousarray(out), spacing, new_affine,  # type: ignore[arg-type]
                      orientations.ornt_transform(target, ornt))


def canvas_shape(shape: tuple[int, int], spacing: tuple[float, float], fov_mm: float | None) -> tuple[int, int]:
    """Pixels of a canvas covering ``fov_mm`` (square in millimetres) at the slice's spacing."""
    fov = fov_mm or max(n * s for n, s in zip(shape, spacing, strict=True))
    return int(round(fov / spacing[0])), int(round(fov / spacing[1]))


def placement(shape: tuple[int, int], canvas: tuple[int, int]) -> tuple[Region, Region]:
    """(region of the slice, region of the canvas): the slice centred, cropped where it is larger."""
    src, dst = [], []
    for n, side in zip(shape, canvas, strict=True):
        off = abs(side - n) // 2
        if n <= side:
            src.append(slice(0, n))
            dst.append(slice(off, off + n))
        else:
            src.append(slice(off, off + side))
            dst.append(slice(0, side))
    return (src[0], src[1]), (dst[0], dst[1])


def _slice_tensor(picture: np.ndarray, affine: np.ndarray, name: str) -> Any:
    """A slice as MONAI's loaders return a grey picture: spatial-only MetaTensor, no channel axis yet."""
    import torch
    from monai.data import MetaTensor

    meta = {"affine": torch.as_tensor(affine, dtype=torch.float64), "original_channel_dim": float("nan"),
            "spatial_shape": np.asarray(picture.shape), "filename_or_obj": name}
    return MetaTensor(torch.from_numpy(np.ascontiguousarray(picture, dtype=np.float32)), meta=meta)


@dataclass(frozen=True)
class SliceJob:
    """One axial slice to run: its index, where it sits on the canvas, and the input tensor."""

    z: int
    src: Region
    dst: Region
    tensor: Any


def slice_jobs(vol: Reoriented, fov_mm: float | None, name: str) -> list[SliceJob]:
    """Canvas tensors of every non-constant axial slice (a constant slice holds no picture)."""
    shape = (vol.array.shape[0], vol.array.shape[1])
    canvas = canvas_shape(shape, (vol.spacing[0], vol.spacing[1]), fov_mm)
    src, dst = placement(shape, canvas)
    jobs = []
    for z in range(vol.array.shape[2]):
        picture = vol.array[:, :, z]
        low, high = float(picture.min()), float(picture.max())
        if high <= low:
            continue
        board = np.full(canvas, low, dtype=np.float32)
        board[dst] = picture[src]
        affine = vol.affine.copy()
        affine[:3, 3] = (vol.affine @ np.array([src[0].start - dst[0].start, src[1].start - dst[1].start, z, 1.0]))[:3]
        jobs.append(SliceJob(z, src, dst, _slice_tensor(board, affine, f"{name}#slice{z}")))
    return jobs


def grey_volume(image: ImageData) -> np.ndarray:
    """The image's spatial array (X, Y, Z), channels averaged."""
    array = np.asarray(image.array, dtype=np.float32)
    if image.channels > 1:
        array = array.mean(axis=-1)
    return array.reshape(image.spatial_shape) if array.ndim == len(image.spatial_shape) else array


def segment_slices(engine: ExpertEngine, image: ImageData, fov_mm: float | None,
                   progress: Callable[[float], None] | None = None) -> np.ndarray:
    """A 2D segmentation expert over every axial slice; the label volume in the image's voxel order."""
    vol = to_lps(grey_volume(image), image.affine)
    jobs = slice_jobs(vol, fov_mm, image.path.name)
    mask = np.zeros(vol.array.shape, dtype=np.uint8)
    for start in range(0, len(jobs), SLICE_BATCH):
        chunk = jobs[start : start + SLICE_BATCH]
        for job, pred in zip(chunk, engine.predict([j.tensor for j in chunk], SLICE_BATCH), strict=True):
            mask[job.src[0], job.src[1], job.z] = np.asarray(pred.mask)[job.dst]
        if progress is not None:
            progress(min(1.0, (start + len(chunk)) / max(len(jobs), 1)))
    return vol.restore(mask)


def informative(jobs: list[SliceJob]) -> list[SliceJob]:
    """Slices cut through the bulk of the subject: at least half the largest slice's foreground."""
    if not jobs:
        return []
    area = []
    for j in jobs:
        picture = np.asarray(j.tensor)
        low, high = float(picture.min()), float(picture.max())
        area.append(float((picture > low + 0.1 * (high - low)).mean()))
    top = max(area)
    return [j for j, a in zip(jobs, area, strict=True) if a >= 0.5 * top]


def spread(jobs: list[SliceJob], n: int) -> list[SliceJob]:
    """At most ``n`` of ``jobs``, evenly spaced from the first to the last."""
    if len(jobs) <= n:
        return list(jobs)
    return [jobs[int(i)] for i in np.linspace(0, len(jobs) - 1, n).round()]


def classify_slices(engine: ExpertEngine, image: ImageData, fov_mm: float | None) -> tuple[np.ndarray, int]:
    """A 2D classifier over the volume's informative axial slices: mean probabilities and slices used."""
    vol = to_lps(grey_volume(image), image.affine)
    jobs = informative(slice_jobs(vol, fov_mm, image.path.name))
    if not jobs:
        from mimir.tools.framework.errors import ToolCannotHandle

        raise ToolCannotHandle(f"{image.path.name} holds no picture (every slice is constant)")
    preds = engine.predict([j.tensor for j in jobs], SLICE_BATCH)
    probs = np.mean([np.asarray(p.probabilities) for p in preds], axis=0)
    return probs, len(jobs)
