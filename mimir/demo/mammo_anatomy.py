r"""Simulated screening mammograms: breast outline, pectoral muscle and fibroglandular tissue.

No real mammogram ships with any offline Python package, so the whole breast is simulated (the
demo's only fully simulated anatomy). Each view is drawn as the detector shows it, MONOCHROME2
(dense = bright), with the chest wall at the image's left edge; a left breast is the mirror image
(DICOM patient orientation: right breast ``A\\R`` (CC) or ``A\\FR`` (MLO), left breast ``P\\L`` or
``P\\FL``: the nipple points away from the chest wall, cranial is up).

- CC (craniocaudal): a half-ellipse against the chest wall, nipple in profile near mid-height,
  with a thin sliver of pectoral muscle in about one image in three.
- MLO (mediolateral oblique): a taller outline that reaches the axilla at the top of the chest
  wall, with the pectoral muscle as a bright triangle in the upper corner, its edge slightly convex.
- Fibroglandular tissue: band-limited random texture concentrated behind the nipple and in the
  upper outer breast, thresholded so that it fills a share of the breast set by the ACR density
  category (A almost entirely fatty, B scattered, C heterogeneously dense, D extremely dense), plus
  faint curvilinear Cooper's ligaments, a skin line and the fall-off of a compressed breast's
  thickness towards its edge.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage

from mimir.demo.anatomy import smooth_field

#: Rendering grid of every mammogram (the DICOM key image); PNGs are reduced to 256.
MG_CANVAS = 512
#: Height of the canvas at the detector, in mm.
MG_FIELD_MM = 240.0
MG_PIXEL_MM = MG_FIELD_MM / MG_CANVAS
DENSITIES: tuple[str, ...] = ("A", "B", "C", "D")
#: Share of the breast that is fibroglandular, per ACR density category (drawn uniformly in the range).
DENSE_SHARE = {"A": (0.06, 0.18), "B": (0.25, 0.42), "C": (0.52, 0.68), "D": (0.78, 0.9)}


@dataclass(frozen=True)
class BreastShape:
    """A breast's size, shared by its views: depth and half-height as fractions of the canvas."""

    depth: float
    half_height: float
    centre: float


@dataclass(frozen=True)
class BreastView:
    """One view of one breast (chest wall on the left): tissue image, breast and pectoral masks, nipple."""

    image: np.ndarray
    breast: np.ndarray
    pectoral: np.ndarray
    nipple: tuple[float, float]
    axis: tuple[float, float]  # (row, column) of the breast's long axis at the chest wall
    half_height: float  # pixels, at the chest wall


def breast_shape(rng: np.random.Generator) -> BreastShape:
    """A breast size: depth 45-72 % of the canvas width, half-height 30-40 % of its height."""
    return BreastShape(depth=float(rng.uniform(0.45, 0.72)), half_height=float(rng.uniform(0.30, 0.40)),
                       centre=float(rng.uniform(0.47, 0.53)))


def _outline(shape: BreastShape, view: str, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float], float]:
    rows, cols = np.indices((MG_CANVAS, MG_CANVAS), dtype=np.float32)
    wobble = 1.0 + 0.04 * smooth_field(rng, (MG_CANVAS, MG_CANVAS), coarse=4)
    a = shape.depth * MG_CANVAS
    if view == "CC":
        b, centre = shape.half_height * MG_CANVAS, shape.centre * MG_CANVAS
        inside = (cols / a) ** 2 + ((rows - centre) / b) ** 2 < wobble
        return inside, (centre, 0.0), b
    b, centre = (shape.half_height + 0.08) * MG_CANVAS, (shape.centre + 0.06) * MG_CANVAS
    tilt = 0.35 * (centre - rows) / b  # the upper part reaches further along the chest wall (axilla)
    inside = ((cols / (a * (1.0 - 0.25 * np.clip(tilt, 0, None)))) ** 2 + ((rows - centre) / b) ** 2 < wobble)
    axilla = (cols < 0.22 * MG_CANVAS * (1.0 - rows / (0.45 * MG_CANVAS))) & (rows >= 0)
    return inside | axilla, (centre, 0.0), b


def _pectoral(view: str, rng: np.random.Generator, breast: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(breast.shape, dtype=np.float32) / MG_CANVAS
    if view == "CC":
        if rng.random() > 1 / 3:
            return np.zeros_like(breast)
        return breast & (cols < rng.uniform(0.015, 0.03))
    width, height = rng.uniform(0.16, 0.28), rng.uniform(0.38, 0.6)
    edge = (cols / width) ** 0.9 + rows / height
    return breast & (edge < 1.0)


@functools.cache
def _envelope(rows: int, cols: int) -> np.ndarray:
    fr = np.fft.fftfreq(rows)[:, None]
    fc = np.fft.fftfreq(cols)[None, :] * 2.0
    f = np.hypot(fr, fc)
    return (np.where(f > 0, (f + 1.0 / rows) ** -1.5, 0.0) * np.exp(-((f / 0.25) ** 2))).astype(np.float32)


def _spectral_fields(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Two independent random textures with the 1/f^3 power spectrum of breast parenchyma.

    Lower frequencies are stretched along the rows' direction (towards the nipple), so structures
    run from the chest wall to the nipple as ducts and stroma do. Both are scaled to unit variance.
    """
    spectrum = np.empty(shape, dtype=np.complex64)
    spectrum.real = rng.standard_normal(shape, dtype=np.float32)
    spectrum.imag = rng.standard_normal(shape, dtype=np.float32)
    field = scipy.fft.ifft2(spectrum * _envelope(*shape), workers=1)
    a, b = field.real, field.imag
    return a / (float(a.std()) + 1e-9), b / (float(b.std()) + 1e-9)


def _skin_depth(breast: np.ndarray) -> np.ndarray:
    """Distance in pixels from the breast's edge (computed at half resolution: it only shapes the fall-off)."""
    half = ndimage.distance_transform_edt(breast[::2, ::2]).astype(np.float32) * 2.0
    return np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)[: breast.shape[0], : breast.shape[1]] * breast


def _glandular(texture: np.ndarray, skin: np.ndarray, breast: np.ndarray, density: str, axis: tuple[float, float],
               depth: float, rng: np.random.Generator) -> np.ndarray:
    """Fibroglandular share per pixel in [0, 1]: the texture, weighted to the central breast, thresholded."""
    rows, cols = np.indices(breast.shape, dtype=np.float32)
    radial = np.hypot((rows - axis[0]) / (0.8 * MG_CANVAS), (cols - 0.45 * depth * MG_CANVAS) / (0.9 * depth * MG_CANVAS))
    weight = np.clip(skin / 18.0, 0, 1) * np.exp(-(radial**2) * 2.0) * np.clip(cols / 20.0, 0, 1)
    score = texture + 2.2 * weight
    lo, hi = DENSE_SHARE[density]
    cut = np.quantile(score[breast], 1.0 - rng.uniform(lo, hi))
    return (np.clip((score - cut) / 0.8 + 0.5, 0.0, 1.0) * breast).astype(np.float32)


def breast_view(rng: np.random.Generator, shape: BreastShape, view: str, density: str) -> BreastView:
    """One view's tissue image in [0, 1] (before lesions, positioning, exposure and noise)."""
    breast, axis, half = _outline(shape, view, rng)
    pectoral = _pectoral(view, rng, breast)
    skin = _skin_depth(breast)
    texture, strands = _spectral_fields(rng, breast.shape)
    gland = _glandular(texture, skin, breast & ~pectoral, density, axis, shape.depth, rng)
    ligaments = np.exp(-((strands / 0.1) ** 2)) * np.clip(skin / 30.0, 0, 1)
    thickness = np.clip(skin / 25.0, 0.0, 1.0) ** 0.6
    fat = rng.uniform(0.22, 0.3)
    image = thickness * (fat + 0.38 * gland + 0.05 * ligaments + 0.03 * texture)
    image = np.where(pectoral, 0.55 + 0.1 * np.clip(skin / 60.0, 0, 1), image)
    skin_line = breast & (skin <= 2.0)
    image = np.where(skin_line, np.maximum(image, 0.3), image) * breast
    cc = np.nonzero(breast[int(axis[0])])[0]
    nipple = (float(axis[0]), float(cc.max()) if cc.size else shape.depth * MG_CANVAS)
    return BreastView(image=image.astype(np.float32), breast=breast, pectoral=pectoral, nipple=nipple,
                      axis=axis, half_height=half)
