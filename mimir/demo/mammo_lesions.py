"""Simulated breast lesions: masses and calcification clusters, placed consistently in CC and MLO.

A lesion has a place in the breast (``depth`` from the nipple towards the chest wall, a clock
angle and a distance from the breast's axis), so it shows in both views of its breast: the CC view
shows its medio-lateral position, the MLO its height. Its shape comes from its own ``seed``, so it
keeps its look from one year to the next and only its size changes.

- Mass: ``benign`` = an oval with a sharp (circumscribed) margin; ``suspicious`` = an irregular
  core with spicules radiating from it. Label 1 covers the core.
- Calcification cluster: ``benign`` = round punctate specks scattered loosely; ``suspicious`` =
  fine, elongated specks lined up (segmental). Label 2 covers the cluster (specks dilated by 5
  pixels and closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from mimir.demo.mammo_anatomy import MG_PIXEL_MM, BreastView

LesionKind = Literal["mass", "calcification"]
Morphology = Literal["benign", "suspicious"]
LESION_LABELS = {"mass": 1, "calcification": 2}
MG_LABEL_NAMES = {0: "background", 1: "mass", 2: "calcification"}


@dataclass(frozen=True)
class Lesion:
    """One lesion at one visit: size in mm (mass diameter or cluster span); 0 = not (yet) visible."""

    kind: LesionKind
    morphology: Morphology
    size_mm: float
    depth: float
    angle: float
    radius: float
    seed: int


def lesion_centre(view: BreastView, lesion: Lesion, view_name: str) -> tuple[float, float]:
    """(row, column) of the lesion's centre in this view, moved towards the nipple if it fell outside."""
    nipple_col = view.nipple[1]
    u = lesion.radius * (np.cos(lesion.angle) if view_name == "CC" else np.sin(lesion.angle))
    for shrink in np.linspace(1.0, 0.2, 9):
        col = nipple_col * (1.0 - lesion.depth * shrink)
        span = view.half_height * np.sqrt(max(1.0 - (col / max(nipple_col, 1.0)) ** 2, 0.0))
        row = view.axis[0] + u * 0.8 * span
        r, c = int(round(row)), int(round(col))
        if view.breast[r, c] and not view.pectoral[r, c]:
            return float(row), float(col)
    return view.nipple[0], nipple_col * 0.6


def _mass(patch: int, r: float, lesion: Lesion, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.indices((patch, patch), dtype=np.float32) - patch / 2
    phi = rng.uniform(0, np.pi)
    x = cols * np.cos(phi) + rows * np.sin(phi)
    y = -cols * np.sin(phi) + rows * np.cos(phi)
    theta = np.arctan2(y, x)
    if lesion.morphology == "benign":
        dist = np.hypot(x, y / rng.uniform(0.7, 0.95))
        core = dist < r
        density = np.clip((r - dist) / 1.2 + 0.5, 0, 1) * rng.uniform(0.45, 0.6)
        return density.astype(np.float32), core
    bumps = sum(rng.uniform(0.06, 0.14) * np.sin(k * theta + rng.uniform(0, 2 * np.pi)) for k in (3, 5, 7))
    dist = np.hypot(x, y) / (1.0 + bumps)
    core = dist < r
    density = np.clip((r - dist) / 2.5 + 0.5, 0, 1) * rng.uniform(0.5, 0.65)
    canvas = Image.new("L", (patch, patch), 0)
    draw = ImageDraw.Draw(canvas)
    for a in rng.uniform(0, 2 * np.pi, size=int(rng.integers(9, 15))):
        length = r * rng.uniform(1.6, 2.6)
        c0 = patch / 2
        draw.line([(c0, c0), (c0 + length * np.cos(a), c0 + length * np.sin(a))], fill=255, width=1)
    spicules = ndimage.gaussian_filter(np.asarray(canvas, dtype=np.float32) / 255.0, 0.6) * 0.35
    return np.maximum(density, spicules).astype(np.float32), core


def _calcifications(patch: int, r: float, lesion: Lesion, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    count = int(np.clip(6 + r * 1.2, 6, 40))
    canvas = Image.new("L", (patch, patch), 0)
    draw = ImageDraw.Draw(canvas)
    c0 = patch / 2
    direction = rng.uniform(0, np.pi)
    for _ in range(count):
        if lesion.morphology == "suspicious":  # segmental: along a line, elongated specks
            t, s = rng.uniform(-r, r), rng.normal(0, 0.25 * r)
            pr, pc = c0 + t * np.sin(direction) + s * np.cos(direction), c0 + t * np.cos(direction) - s * np.sin(direction)
            length = rng.uniform(1.5, 3.5)
            draw.line([(pc, pr), (pc + length * np.cos(direction), pr + length * np.sin(direction))], fill=255, width=1)
        else:
            pr, pc = c0 + rng.normal(0, 0.55 * r), c0 + rng.normal(0, 0.55 * r)
            rad = rng.uniform(0.8, 1.6)
            draw.ellipse([(pc - rad, pr - rad), (pc + rad, pr + rad)], fill=255)
    specks = np.asarray(canvas, dtype=np.float32) / 255.0
    region = ndimage.binary_closing(ndimage.binary_dilation(specks > 0.5, iterations=5), iterations=3)
    return (ndimage.gaussian_filter(specks, 0.5) * 1.6).astype(np.float32), ndimage.binary_fill_holes(region)


def draw_lesion(view: BreastView, lesion: Lesion, view_name: str) -> tuple[np.ndarray, np.ndarray]:
    """The lesion's added density and label mask on the view's canvas (chest wall on the left)."""
    shape = view.image.shape
    density, mask = np.zeros(shape, dtype=np.float32), np.zeros(shape, dtype=bool)
    if lesion.size_mm <= 0:
        return density, mask
    r = lesion.size_mm / 2 / MG_PIXEL_MM
    patch = int(6 * r + 24) // 2 * 2
    rng = np.random.default_rng(lesion.seed)
    draw = _mass if lesion.kind == "mass" else _calcifications
    local_d, local_m = draw(patch, r, lesion, rng)
    row, col = lesion_centre(view, lesion, view_name)
    r0, c0 = int(round(row)) - patch // 2, int(round(col)) - patch // 2
    rs, cs = slice(max(r0, 0), min(r0 + patch, shape[0])), slice(max(c0, 0), min(c0 + patch, shape[1]))
    ls = (slice(rs.start - r0, rs.stop - r0), slice(cs.start - c0, cs.stop - c0))
    density[rs, cs], mask[rs, cs] = local_d[ls], local_m[ls]
    inside = view.breast & ~view.pectoral
    return density * inside, mask & inside
