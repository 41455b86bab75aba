"""Colour fundus photographs from scikit-image's real retina photograph, modelled on ODIR.

The original photograph shows a left eye (optic disc on the image's left, nasal side); a right eye is
its left-right mirror. Each eye gets colour and illumination changes and, by diagnosis, lesions:
diabetic retinopathy = dark red haemorrhage blots and yellow hard exudates around the posterior
pole; age-related macular degeneration (AMD) = pale yellow drusen clustered at the macula.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage

from mimir.demo.anatomy import retina_photo

Diagnosis = Literal["normal", "diabetic retinopathy", "AMD"]
DIAGNOSES: tuple[Diagnosis, ...] = ("normal", "diabetic retinopathy", "AMD")

#: Disc and macula centres in the original (left-eye) photograph, as (row, col) fractions.
_DISC_LEFT = (0.43, 0.17)
_MACULA_LEFT = (0.48, 0.50)

_COLOURS = {
    "exudates": np.array([0.98, 0.90, 0.45], dtype=np.float32),
    "haemorrhages": np.array([0.35, 0.04, 0.03], dtype=np.float32),
    "drusen": np.array([0.95, 0.88, 0.62], dtype=np.float32),
}


def disc_centre(laterality: str) -> tuple[float, float]:
    """Optic disc centre (row, col) as fractions of the image for eye ``L`` or ``R``."""
    r, c = _DISC_LEFT
    return (r, c) if laterality == "L" else (r, 1.0 - c)


def _paint(img: np.ndarray, fov: np.ndarray, rng: np.random.Generator, kind: str,
           centre: tuple[float, float], spread: float, count: int, radius: tuple[float, float]) -> int:
    size = img.shape[0]
    rows, cols = np.ogrid[:size, :size]
    painted = 0
    for _ in range(count):
        r = int((centre[0] + rng.normal(0, spread)) * size)
        c = int((centre[1] + rng.normal(0, spread)) * size)
        if not (0 <= r < size and 0 <= c < size and fov[r, c]):
            continue
        rad = rng.uniform(*radius) * size
        blob = np.exp(-(((rows - r) ** 2 + (cols - c) ** 2) / (2 * rad**2))).astype(np.float32)
        alpha = np.clip(blob * 1.6, 0.0, 0.95)[..., None]
        img[:] = (1 - alpha) * img + alpha * _COLOURS[kind]
        painted += 1
    return painted


def fundus_eye(rng: np.random.Generator, laterality: str, diagnosis: Diagnosis, size: int = 256) -> tuple[np.ndarray, dict[str, int]]:
    """One eye's photograph (H, W, 3 float32 in [0, 1]) with lesions drawn for ``diagnosis``."""
    base = retina_photo(size)
    img = base[:, ::-1].copy() if laterality == "R" else base.copy()
    fov = img.sum(axis=2) > 0.12
    macula = _MACULA_LEFT if laterality == "L" else (_MACULA_LEFT[0], 1.0 - _MACULA_LEFT[1])
    lesions = {"exudates": 0, "haemorrhages": 0, "drusen": 0}
    if diagnosis == "diabetic retinopathy":
        lesions["haemorrhages"] = _paint(img, fov, rng, "haemorrhages", macula, 0.16, int(rng.integers(6, 14)), (0.006, 0.014))
        lesions["exudates"] = _paint(img, fov, rng, "exudates", macula, 0.10, int(rng.integers(8, 20)), (0.003, 0.007))
    elif diagnosis == "AMD":
        lesions["drusen"] = _paint(img, fov, rng, "drusen", macula, 0.045, int(rng.integers(12, 26)), (0.004, 0.009))
    gain = rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    yy, xx = np.mgrid[:size, :size] / size
    angle = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.05, 0.2) * ((xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle))
    img = img * gain * light[..., None].astype(np.float32) * rng.uniform(0.85, 1.1)
    img = ndimage.gaussian_filter(img, (rng.uniform(0, 0.6),) * 2 + (0,))
    img = img + rng.normal(0, 0.01, img.shape).astype(np.float32)
    return np.clip(img * fov[..., None], 0.0, 1.0).astype(np.float32), lesions


def fundus_sample(rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, str, dict[str, int | str]]:
    """A random eye: image (H, W, 3 float32 [0, 1]), laterality ``L``/``R`` and lesion counts + diagnosis."""
    laterality = "L" if rng.random() < 0.5 else "R"
    diagnosis: Diagnosis = DIAGNOSES[int(rng.integers(3))]
    image, lesions = fundus_eye(rng, laterality, diagnosis, size)
    info: dict[str, int | str] = {**lesions, "diagnosis": diagnosis}
    return image, laterality, info
