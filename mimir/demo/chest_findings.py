"""Simulated chest-radiograph findings, drawn on a patient's real (deformed) radiograph.

MS-CXR-T follows five findings over time; each is drawn here with a known extent:

- pleural effusion: fluid filling the lowest part of one hemithorax, its upper border a meniscus
  that rises towards the lateral chest wall, blunting the costophrenic angle and hiding the
  hemidiaphragm;
- consolidation and pneumonia: a lobar airspace opacity (upper lobe below the apex down to the
  horizontal fissure, middle lobe or lingula against the heart border, lower lobe above the
  hemidiaphragm) with air bronchograms; pneumonia is patchier and less homogeneous. Both carry the
  consolidation label: on a radiograph they are the same opacity;
- pneumothorax: air between a thin, bright visceral pleural line and the apical and lateral chest
  wall, with no lung markings beyond the line;
- pulmonary oedema: bilateral perihilar haze (interstitial) that becomes confluent and denser
  (alveolar, "bat wing") as it extends.

Opacities are attenuation added in the display domain, ``1 - (1 - I) * exp(-density)``, so they
whiten soft tissue and lung alike and saturate like real ones. Label: 0 background,
1 pleural effusion, 2 consolidation (or pneumonia), 3 pneumothorax, 4 oedema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from mimir.demo.chest_anatomy import ChestSubject

Finding = Literal["pleural effusion", "consolidation", "pneumonia", "pneumothorax", "oedema"]
FINDINGS: tuple[Finding, ...] = ("pleural effusion", "consolidation", "pneumonia", "pneumothorax", "oedema")
LABELS: dict[str, int] = {"pleural effusion": 1, "consolidation": 2, "pneumonia": 2, "pneumothorax": 3, "oedema": 4}
LABEL_NAMES: dict[int, str] = {0: "background", 1: "pleural effusion", 2: "consolidation", 3: "pneumothorax", 4: "oedema"}
Lobe = Literal["upper", "middle", "lower"]


@dataclass(frozen=True)
class ChestFinding:
    """One finding at one visit. ``extent`` in (0, 1] scales it (0 = absent); ``side`` R, L or B."""

    kind: Finding
    side: str
    extent: float
    lobe: Lobe = "lower"
    density: float = 1.0


@dataclass(frozen=True)
class Drawn:
    """A finding on the canvas: added density, lucency (pneumothorax air) and its label mask."""

    density: np.ndarray
    lucency: np.ndarray
    mask: np.ndarray


def _lung_frame(mask: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Per pixel: height fraction (0 apex, 1 base) and lateral fraction (0 medial, 1 chest wall)."""
    rows, cols = np.indices(mask.shape, dtype=np.float32)
    rr = np.nonzero(mask.any(axis=1))[0]
    top, bottom = int(rr.min()), int(rr.max())
    height = np.asarray((rows - top) / max(bottom - top, 1), dtype=np.float32)
    left = np.where(mask, cols, np.inf).min(axis=1, keepdims=True)
    right = np.where(mask, cols, -np.inf).max(axis=1, keepdims=True)
    span = np.maximum(right - left, 1.0)
    lateral = (right - cols) / span if side == "R" else (cols - left) / span
    lateral = np.clip(np.where(np.isfinite(lateral), lateral, 0.0), 0.0, 1.0)
    return height, lateral.astype(np.float32), top, bottom


#: Extent-independent geometry of recently drawn lungs: (mask, (height, lateral, top, bottom, depth in pixels)).
_GEOMETRY: dict[tuple[int, str], tuple[np.ndarray, tuple[np.ndarray, np.ndarray, int, int, np.ndarray]]] = {}


def _lung_geometry(mask: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray]:
    """:func:`_lung_frame` and the distance to the lung's edge, kept for the last few lungs (plans draw a lung often)."""
    key = (id(mask), side)
    hit = _GEOMETRY.get(key)
    if hit is not None and hit[0] is mask:
        return hit[1]
    value = (*_lung_frame(mask, side), np.asarray(ndimage.distance_transform_edt(mask), dtype=np.float32))
    while len(_GEOMETRY) >= 8:
        _GEOMETRY.pop(next(iter(_GEOMETRY)))
    _GEOMETRY[key] = (mask, value)  # the mask is held, so its id is not reused while the entry lives
    return value


def _effusion(subject: ChestSubject, f: ChestFinding) -> Drawn:
    mask = subject.lungs[f.side]
    _, lateral, top, bottom, _ = _lung_geometry(mask, f.side)
    rows = np.indices(mask.shape, dtype=np.float32)[0]
    height = bottom - top
    level = bottom - f.extent * 0.55 * height
    surface = level - (0.05 + 0.25 * f.extent) * height * lateral**2  # the meniscus rises laterally
    ramp = np.clip((rows - surface) / 4.0, 0.0, 1.0) * mask
    depth = np.clip((rows - surface) / (0.15 * height), 0.0, 1.0)
    density = ramp * f.density * (0.75 + 0.35 * depth) * (0.95 + 0.05 * subject.field)
    return Drawn(density.astype(np.float32), np.zeros_like(density), ramp > 0.5)


def _lobe_region(mask: np.ndarray, side: str, lobe: Lobe, field: np.ndarray) -> np.ndarray:
    height, lateral, _, _, _ = _lung_geometry(mask, side)
    fissure = 0.42 + 0.04 * field
    if lobe == "upper":
        region = height < fissure
    elif lobe == "middle":
        region = (height >= fissure) & ((height - 0.6) ** 2 / 0.06 + (lateral / 0.6) ** 2 < 1.0 + 0.15 * field)
    else:
        region = (height >= 0.5 + 0.25 * (1.0 - lateral) ** 2 + 0.04 * field)
    return region & mask


def _bronchograms(shape: tuple[int, int], hilum: tuple[float, float], seed: tuple[float, float],
                  reach: float, field: np.ndarray) -> np.ndarray:
    """Short air-filled bronchi branching away from the hilum inside the opacity (1 on a bronchus)."""
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    angle = np.arctan2(seed[0] - hilum[0], seed[1] - hilum[1])
    for k in range(5):
        a = angle + 0.5 * np.sin(3.1 * k + 20.0 * float(field[int(seed[0]), int(seed[1])]))
        r0, c0 = seed[0] + 0.25 * reach * np.sin(a + k), seed[1] + 0.25 * reach * np.cos(a + k)
        length = 0.25 * reach
        draw.line([(c0, r0), (c0 + length * np.cos(a), r0 + length * np.sin(a))], fill=255, width=1)
    return ndimage.gaussian_filter(np.asarray(canvas, dtype=np.float32) / 255.0, 0.7)


def _consolidation(subject: ChestSubject, f: ChestFinding) -> Drawn:
    mask = subject.lungs[f.side]
    region = _lobe_region(mask, f.side, f.lobe, subject.field)
    rows, cols = np.indices(mask.shape, dtype=np.float32)
    rr, cc = np.nonzero(region)
    seed = (float(rr.mean()), float(cc.mean()))
    dist = np.hypot(rows - seed[0], cols - seed[1])
    reach = float(dist[region].max()) + 1.0
    patchy = f.kind == "pneumonia"
    shape = dist / reach / (1.0 + (0.45 if patchy else 0.25) * subject.field)
    inside = (shape < f.extent) & region
    soft = ndimage.gaussian_filter(inside.astype(np.float32), 2.5) * region
    texture = 0.65 + 0.35 * np.abs(subject.fine) if patchy else 0.9 + 0.1 * subject.fine
    air = _bronchograms(mask.shape, subject.hila[f.side], seed, reach, subject.field)
    density = soft * (0.8 * f.density) * texture * (1.0 - 0.6 * air)
    return Drawn(density.astype(np.float32), np.zeros_like(density), soft > 0.5)


def _pneumothorax(subject: ChestSubject, f: ChestFinding) -> Drawn:
    mask = subject.lungs[f.side]
    height, lateral, _, _, depth_px = _lung_geometry(mask, f.side)
    width = float(depth_px.max()) * 2.0
    rim = f.extent * 0.45 * width * (1.0 - 0.65 * height) * (1.0 + 0.1 * subject.field)
    air = mask & (depth_px < rim) & ((lateral > 0.35) | (height < 0.12))
    lucent = ndimage.gaussian_filter(air.astype(np.float32), 0.8)
    edge = air ^ ndimage.binary_erosion(air, iterations=1)
    line = ndimage.binary_dilation(air, iterations=1) & ~air & mask | (edge & ~ndimage.binary_erosion(mask, iterations=2))
    density = ndimage.gaussian_filter(line.astype(np.float32), 0.6) * 0.55 * f.density
    return Drawn(density.astype(np.float32), lucent.astype(np.float32), air)


def _oedema(subject: ChestSubject, f: ChestFinding) -> Drawn:
    rows, cols = np.indices(subject.image.shape, dtype=np.float32)
    density = np.zeros(subject.image.shape, dtype=np.float32)
    region = np.zeros(subject.image.shape, dtype=bool)
    for side, mask in subject.lungs.items():
        hr, hc = subject.hila[side]
        dist = np.hypot(rows - hr, (cols - hc) * 1.2)
        reach = float(dist[mask].max()) + 1.0
        norm = dist / reach / (1.0 + 0.2 * subject.field)
        inside = (norm < f.extent) & mask
        soft = ndimage.gaussian_filter(inside.astype(np.float32), 2.0) * mask
        level = (0.5 + 0.5 * f.extent) * f.density
        falloff = 0.6 + 0.4 * np.clip(1.0 - norm / max(f.extent, 1e-3), 0.0, 1.0)
        reticular = 0.8 + 0.2 * subject.fine
        density += soft * level * falloff * reticular
        region |= soft > 0.5
    return Drawn(density, np.zeros_like(density), region)


_DRAW = {"pleural effusion": _effusion, "consolidation": _consolidation, "pneumonia": _consolidation,
         "pneumothorax": _pneumothorax, "oedema": _oedema}


def draw_finding(subject: ChestSubject, finding: ChestFinding | None) -> Drawn:
    """The finding on the patient canvas (nothing when ``finding`` is None or has no extent)."""
    if finding is None or finding.extent <= 0:
        zero = np.zeros(subject.image.shape, dtype=np.float32)
        return Drawn(zero, zero, zero.astype(bool))
    return _DRAW[finding.kind](subject, finding)


def apply_finding(image: np.ndarray, drawn: Drawn) -> np.ndarray:
    """The radiograph with the finding: pneumothorax air first (markings gone), then added density."""
    out = image
    if drawn.lucency.any():
        smooth = ndimage.gaussian_filter(image, 7.0)
        out = (1.0 - drawn.lucency) * out + drawn.lucency * np.clip(smooth - 0.07, 0.0, 1.0)
    return (1.0 - (1.0 - out) * np.exp(-drawn.density)).astype(np.float32)
