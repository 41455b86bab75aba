"""Chest radiograph visits: a patient's radiograph with one finding, as a PA or AP film.

A visit renders the finding on the patient canvas, moves everything with the visit's positioning
(and, for AP, the AP geometry of :func:`mimir.demo.chest_anatomy.visit_map`), adds the scapulae
an AP film projects over the lungs, then exposure (contrast, brightness, gamma), blur and noise
(a portable AP film is a little softer and noisier). The label follows the same geometry, so the
truth is what the image shows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from mimir.demo.chest_anatomy import CANVAS, PIXEL_MM, ChestSubject, chest_subject, scapula_shadows, visit_map
from mimir.demo.chest_findings import FINDINGS, LABELS, ChestFinding, Drawn, Lobe, apply_finding, draw_finding

VIEWS: tuple[str, ...] = ("PA", "AP")
LOBES: tuple[Lobe, ...] = ("upper", "middle", "lower")


def _expose(image: np.ndarray, rng: np.random.Generator, view: str) -> np.ndarray:
    contrast, bright, gamma = rng.uniform(0.85, 1.15), rng.uniform(-0.06, 0.06), rng.uniform(0.85, 1.15)
    out = np.clip((image - 0.5) * contrast + 0.5 + bright, 0.0, 1.0) ** gamma
    if view == "AP":
        out = ndimage.gaussian_filter(out, rng.uniform(0.4, 0.9))
    noise = rng.uniform(0.012, 0.02) * (1.4 if view == "AP" else 1.0)
    out = out + rng.normal(0.0, noise, out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ChestFrame:
    """One film's geometry and truth before its pixels: the drawn finding, the visit map and the label."""

    drawn: Drawn
    coords: np.ndarray
    labels: np.ndarray
    view: str


def chest_frame(subject: ChestSubject, finding: ChestFinding | None, view: str, rng: np.random.Generator) -> ChestFrame:
    """Draw the finding and the film's positioning; the label is what the film will show."""
    return frame_at(subject, finding, view, visit_map(rng, subject, view))


def frame_at(subject: ChestSubject, finding: ChestFinding | None, view: str, coords: np.ndarray) -> ChestFrame:
    """The film of ``finding`` with a given positioning (``coords`` from :func:`visit_map`)."""
    drawn = draw_finding(subject, finding)
    value = LABELS[finding.kind] if finding is not None else 0
    labels = ndimage.map_coordinates(drawn.mask.astype(np.uint8) * value, coords, order=0).astype(np.uint8)
    return ChestFrame(drawn=drawn, coords=coords, labels=labels, view=view)


def render_frame(subject: ChestSubject, frame: ChestFrame, rng: np.random.Generator) -> np.ndarray:
    """The film's pixels (CANVAS x CANVAS float32 in [0, 1], dense = bright)."""
    patient = apply_finding(subject.image, frame.drawn)
    image = ndimage.map_coordinates(patient, frame.coords, order=1, mode="nearest").astype(np.float32)
    if frame.view == "AP":
        image = 1.0 - (1.0 - image) * np.exp(-scapula_shadows(subject, rng))
    return _expose(image, rng, frame.view)


def chest_visit(subject: ChestSubject, finding: ChestFinding | None, view: str,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One film: ``image`` (CANVAS x CANVAS float32 in [0, 1], dense = bright) and ``labels`` (uint8)."""
    frame = chest_frame(subject, finding, view, rng)
    return {"image": render_frame(subject, frame, rng), "labels": frame.labels}


def finding_area_mm2(labels: np.ndarray) -> float:
    """Area of the labelled finding on a CANVAS-sized label image, in mm2 at the patient."""
    scale = CANVAS / labels.shape[0]
    return float((labels > 0).sum()) * (PIXEL_MM * scale) ** 2


def resize(image: np.ndarray, size: int, label: bool = False) -> np.ndarray:
    """Area reduction of an image (nearest for labels) to ``size`` x ``size``."""
    if image.shape[0] == size:
        return image
    if label:
        return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.NEAREST))
    return np.asarray(Image.fromarray(image.astype(np.float32)).resize((size, size), Image.Resampling.BOX), dtype=np.float32)


def random_finding(rng: np.random.Generator) -> ChestFinding | None:
    """A finding of random kind, side, lobe and extent (none in about 1 in 6)."""
    if rng.random() < 1 / 6:
        return None
    kind = FINDINGS[int(rng.integers(len(FINDINGS)))]
    side = "B" if kind == "oedema" else str(rng.choice(["R", "L"]))
    lo = {"pleural effusion": 0.15, "pneumothorax": 0.25, "oedema": 0.3}.get(kind, 0.3)
    return ChestFinding(kind=kind, side=side, extent=float(rng.uniform(lo, 1.0)),
                        lobe=LOBES[int(rng.integers(3))], density=float(rng.uniform(0.8, 1.2)))


#: Patients per sample pool; pools are disjoint (experts train on pool 0, are evaluated on pool 1).
POOL_SIZE = 8


@functools.lru_cache(maxsize=2 * POOL_SIZE)
def _pooled_subject(pool: int, key: int) -> ChestSubject:
    return chest_subject(np.random.default_rng([20241130, pool, key]))


def chest_sample(rng: np.random.Generator, size: int = 128, pool: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """A random film: image (``size`` x ``size`` float32 [0, 1]), label (uint8, 0-4) and view (PA or AP).

    The patient is one of ``POOL_SIZE`` deformed radiographs of sample pool ``pool``; the finding,
    the view, the positioning, exposure and noise are new on every call.
    """
    subject = _pooled_subject(pool, int(rng.integers(POOL_SIZE)))
    view = VIEWS[int(rng.integers(2))]
    visit = chest_visit(subject, random_finding(rng), view, rng)
    return resize(visit["image"], size), resize(visit["labels"], size, label=True), view
