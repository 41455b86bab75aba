"""Mammography visits: the four standard views (CC and MLO of each breast) with their lesions.

A patient's breasts (outline, pectoral muscle, fibroglandular pattern, density category) are drawn
once; every yearly visit shows them again with that year's lesions, a slightly different position
on the detector (up to 8 pixels up or down), exposure and noise. Right breasts keep the chest wall
on the image's left, left breasts are mirrored (chest wall on the right), as DICOM's patient
orientation for mammograms has it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mimir.demo.chest import resize
from mimir.demo.mammo_anatomy import DENSITIES, BreastView, breast_shape, breast_view
from mimir.demo.mammo_lesions import LESION_LABELS, Lesion, draw_lesion

MG_VIEWS: tuple[str, ...] = ("CC", "MLO")
SIDES: tuple[str, ...] = ("R", "L")


@dataclass(frozen=True)
class MammoSubject:
    """One patient's breasts: density category and the tissue of each (side, view)."""

    density: str
    views: dict[tuple[str, str], BreastView]


def mammo_subject(rng: np.random.Generator, density: str | None = None) -> MammoSubject:
    """A new patient with breasts of ``density`` (A-D; random when None)."""
    density = density or DENSITIES[int(rng.integers(len(DENSITIES)))]
    views = {}
    for side in SIDES:
        shape = breast_shape(rng)
        for view in MG_VIEWS:
            views[(side, view)] = breast_view(rng, shape, view, density)
    return MammoSubject(density=density, views=views)


def _shifted(image: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros_like(image)
    if rows >= 0:
        out[rows:] = image[: image.shape[0] - rows]
    else:
        out[:rows] = image[-rows:]
    return out


def mammo_image(subject: MammoSubject, side: str, view: str, lesions: list[tuple[str, Lesion]],
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One view at one visit: image (MG_CANVAS square, float32 [0, 1]) and label (0 / 1 mass / 2 calcification).

    ``lesions`` are (side, lesion) pairs; those of the other breast are ignored.
    """
    base = subject.views[(side, view)]
    density = np.zeros(base.image.shape, dtype=np.float32)
    labels = np.zeros(base.image.shape, dtype=np.uint8)
    for lesion_side, lesion in lesions:
        if lesion_side != side:
            continue
        d, m = draw_lesion(base, lesion, view)
        density += d
        labels[m] = LESION_LABELS[lesion.kind]
    image = 1.0 - (1.0 - base.image) * np.exp(-density)
    image = np.where(base.breast, image, 0.0)
    gain, gamma = rng.uniform(0.93, 1.07), rng.uniform(0.9, 1.1)
    image = np.clip(image * gain, 0.0, 1.0) ** gamma + rng.normal(0.0, 0.01, image.shape)
    shift = int(rng.integers(-8, 9))
    image, labels = _shifted(np.clip(image, 0.0, 1.0).astype(np.float32), shift), _shifted(labels, shift)
    if side == "L":
        image, labels = image[:, ::-1], labels[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(labels)


def random_lesion(rng: np.random.Generator) -> Lesion | None:
    """A lesion of random kind, morphology, size (4-24 mm) and place (none in about 1 in 3)."""
    if rng.random() < 1 / 3:
        return None
    kind = "mass" if rng.random() < 0.55 else "calcification"
    return Lesion(kind=kind, morphology="benign" if rng.random() < 0.5 else "suspicious",  # type: ignore[arg-type]
                  size_mm=float(rng.uniform(4.0, 24.0)), depth=float(rng.uniform(0.2, 0.8)),
                  angle=float(rng.uniform(0, 2 * np.pi)), radius=float(rng.uniform(0.0, 0.7)),
                  seed=int(rng.integers(2**31)))


#: Patients per sample pool; pools are disjoint (experts train on pool 0, are evaluated on pool 1).
POOL_SIZE = 8


@functools.lru_cache(maxsize=2 * POOL_SIZE)
def _pooled_subject(pool: int, key: int) -> MammoSubject:
    return mammo_subject(np.random.default_rng([20241201, pool, key]))


def mammo_sample(rng: np.random.Generator, size: int = 128, pool: int = 0) -> tuple[np.ndarray, np.ndarray, str, str]:
    """A random view: image (``size`` square float32 [0, 1]), label (uint8 0-2), view (CC/MLO) and side (L/R)."""
    subject = _pooled_subject(pool, int(rng.integers(POOL_SIZE)))
    side, view = SIDES[int(rng.integers(2))], MG_VIEWS[int(rng.integers(2))]
    lesion = random_lesion(rng)
    image, label = mammo_image(subject, side, view, [(side, lesion)] if lesion else [], rng)
    return resize(image, size), resize(label, size, label=True), view, side

