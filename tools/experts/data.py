"""Training and evaluation samples for mimir's experts, drawn from the demo generator.

Two layouts matter. The generator returns numpy arrays as images are shown (rows, columns).
MONAI's image readers (PIL for PNG, pydicom for DICOM) return the spatial axes swapped
(columns, rows), and the bundles' inference transforms keep that layout, so the networks are
trained on ``to_monai_layout`` arrays: exactly what ``LoadImaged`` + ``EnsureChannelFirstd``
produce from a PNG or DICOM of the same picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: MR contrasts in the sequence classifier's label order.
SEQUENCES: tuple[str, ...] = ("T1", "T1C", "T2", "FLAIR")
#: Eye sides in the laterality classifier's label order.
SIDES: tuple[str, ...] = ("L", "R")
#: Spatial size every expert is trained at (inference resizes to it and back).
TRAIN_SIZE = 128
#: Sample pools (disjoint sets of anatomies): experts train on one and are evaluated on the other.
TRAIN_POOL, EVAL_POOL = 0, 1
#: Share of operated lesions in the lesion expert's training samples (``POSTOP_SHARE`` elsewhere). A partial
#: resection's thin residual rim is what decides "partial" versus "gross-total", and at the natural
#: share it is in about 2 % of training slices; oversampling it is a training-only class balance.
TRAIN_POSTOP_SHARE = 0.4
#: A small-lesion draw: oedema radius 6 mm to this (the demo's first visits start at 10 to 14 mm and grow
#: by a fifth per visit), and a necrotic core of at least this share of the enhancing radius, as demo
#: patients' lesions have (0.35 to 0.6): on T2 that core is as bright as CSF and must still read as lesion.
SMALL_LESION_RADIUS_MM = 20.0
SMALL_LESION_MIN_NECROSIS = 0.35


@dataclass(frozen=True)
class DrawMix:
    """Where the segmenters' draws are cut, as shares of the draws.

    ``anywhere``: at any axial level of the brain or head (most lesion-free: the levels a whole volume
    holds); ``small``: of the brain lesion expert's other draws, through a small lesion with a necrotic
    core (``SMALL_LESION_RADIUS_MM``, ``SMALL_LESION_MIN_NECROSIS``; otherwise 6 to 30 mm, any core);
    ``postop``: the share of the brain lesion expert's training lesions that are operated (a resection
    cavity, half of them with a residual enhancing rim; ``TRAIN_POSTOP_SHARE`` when None); ``anatomies``:
    how many brains of the training pool the brain lesion expert's draws come from (the generator's
    ``POOL_SIZE`` when None; evaluation always uses its own pool's).
    """

    anywhere: float = 0.0
    small: float = 0.0
    postop: float | None = None
    anatomies: int | None = None


@dataclass(frozen=True)
class RawSample:
    """One picture as the generator made it: ``image`` (H, W) or (H, W, 3) in [0, 1]; ``target``."""

    image: np.ndarray
    target: np.ndarray | int
    group: str = ""


def to_monai_layout(image: np.ndarray) -> np.ndarray:
    """Channel-first array with the spatial axes swapped, as MONAI's readers return a picture."""
    if image.ndim == 2:
        return np.ascontiguousarray(image.T[None])
    return np.ascontiguousarray(image.transpose(2, 1, 0))


def as_png_intensity(image: np.ndarray) -> np.ndarray:
    """8-bit quantised then min-max scaled to [0, 1]: what ``ScaleIntensityd`` sees from a PNG."""
    q = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.float32)
    lo, hi = float(q.min()), float(q.max())
    return (q - lo) / (hi - lo) if hi > lo else q * 0.0


def _mri_lesion(rng: np.random.Generator, size: int, pool: int, mix: DrawMix) -> list[RawSample]:
    from mimir.demo.brain import POOL_SIZE, POSTOP_SHARE
    from mimir.demo.synth import mri_slice_sample

    share = (TRAIN_POSTOP_SHARE if mix.postop is None else mix.postop) if pool == TRAIN_POOL else POSTOP_SHARE
    anywhere = mix.anywhere > 0 and bool(rng.random() < mix.anywhere)
    # drawn only when asked for, so that plans without small draws keep their random stream
    small = not anywhere and mix.small > 0 and bool(rng.random() < mix.small)
    anatomies = mix.anatomies if mix.anatomies is not None and pool == TRAIN_POOL else POOL_SIZE
    images, label = mri_slice_sample(rng, size=size, pool=pool, postop_share=share, anywhere=anywhere,
                                     max_radius_mm=SMALL_LESION_RADIUS_MM if small else 30.0,
                                     min_necrosis=SMALL_LESION_MIN_NECROSIS if small else 0.0,
                                     anatomies=anatomies)
    return [RawSample(images[seq], _visible_labels(label, seq), seq) for seq in SEQUENCES]


def _visible_labels(label: np.ndarray, sequence: str) -> np.ndarray:
    """The lesion expert's target: enhancement (label 2) exists only on the post-contrast image.

    On T1, T2 and FLAIR an enhancing rim looks like the rest of the lesion, so asking for label 2
    there asks the network to guess from shape; those guesses taught it to doubt thin residual
    rims on T1C as well. Elsewhere the enhancing tumour is whole lesion, label 1.
    """
    out = label.astype(np.uint8)
    return out if sequence == "T1C" else np.minimum(out, 1)


def _ct_haemorrhage(rng: np.random.Generator, size: int, pool: int, mix: DrawMix) -> list[RawSample]:
    from mimir.demo.synth import ct_slice_sample

    anywhere = mix.anywhere > 0 and bool(rng.random() < mix.anywhere)
    image, label = ct_slice_sample(rng, size=size, pool=pool, anywhere=anywhere)
    return [RawSample(image, (label > 0).astype(np.uint8), "CT")]


def _mr_sequence(rng: np.random.Generator, size: int, pool: int, mix: DrawMix) -> list[RawSample]:
    del mix  # the brain MRI and head CT segmenters only
    from mimir.demo.synth import mri_slice_sample

    images, _ = mri_slice_sample(rng, size=size, pool=pool)
    return [RawSample(images[seq], i, seq) for i, seq in enumerate(SEQUENCES)]


def _fundus_side(rng: np.random.Generator, size: int, pool: int, mix: DrawMix) -> list[RawSample]:
    del mix  # the brain MRI and head CT segmenters only
    # one photograph, redrawn with new lesions, vessels' contrast and side each call: no anatomy pool
    from mimir.demo.synth import fundus_sample

    image, side, _ = fundus_sample(rng, size=size)
    return [RawSample(image, SIDES.index(side), side)]


def _chest_finding(rng: np.random.Generator, size: int, pool: int, mix: DrawMix) -> list[RawSample]:
    del mix  # the brain MRI and head CT segmenters only
    from mimir.demo.chest import chest_sample
    from mimir.demo.chest_findings import LABEL_NAMES

    image, label, _ = chest_sample(rng, size=size, pool=pool)
    values = np.unique(label[label > 0])
    return [RawSample(image, label, LABEL_NAMES[int(values[0])] if values.size else "none")]


def _chest_view(rng: np.random.Generator, size: int, pool: int, mix: DrawMix) -> list[RawSample]:
    del mix  # the brain MRI and head CT segmenters only
    from mimir.demo.chest import VIEWS, chest_sample

    image, _, view = chest_sample(rng, size=size, pool=pool)
    return [RawSample(image, VIEWS.index(view), view)]


def _mammo(rng: np.random.Generator, size: int, pool: int, target: str) -> list[RawSample]:
    from mimir.demo.mammo import MG_VIEWS, mammo_sample

    image, label, view, side = mammo_sample(rng, size=size, pool=pool)
    if target == "view":
        return [RawSample(image, MG_VIEWS.index(view), view)]
    if target == "side":
        return [RawSample(image, SIDES.index(side), side)]
    values = np.unique(label[label > 0])
    return [RawSample(image, label, {1: "mass", 2: "calcification"}[int(values[0])] if values.size else "none")]


DRAWERS: dict[str, Callable[[np.random.Generator, int, int, DrawMix], list[RawSample]]] = {
    "chest_xr_finding_seg": _chest_finding,
    "chest_xr_view_classifier": _chest_view,
    "mammo_view_classifier": lambda rng, size, pool, _mix: _mammo(rng, size, pool, "view"),
    "mammo_laterality_classifier": lambda rng, size, pool, _mix: _mammo(rng, size, pool, "side"),
    "mammo_lesion_seg": lambda rng, size, pool, _mix: _mammo(rng, size, pool, "lesion"),
    "brain_mri_lesion_seg": _mri_lesion,
    "head_ct_haemorrhage_seg": _ct_haemorrhage,
    "mr_sequence_classifier": _mr_sequence,
    "fundus_laterality_classifier": _fundus_side,
}


def draw_raw(name: str, rng: np.random.Generator, count: int, sizes: tuple[int, ...] = (TRAIN_SIZE,),
             pool: int = TRAIN_POOL, mix: DrawMix | None = None) -> list[RawSample]:
    """Draw at least ``count`` raw samples for expert ``name`` from anatomy ``pool``, cycling through image ``sizes``.

    ``mix`` says where the segmenters' draws are cut (:class:`DrawMix`; default: near the lesion, any size).
    """
    if name not in DRAWERS:
        raise KeyError(f"Unknown expert {name!r}; known: {', '.join(DRAWERS)}")
    out: list[RawSample] = []
    calls = 0
    while len(out) < count:
        out += DRAWERS[name](rng, sizes[calls % len(sizes)], pool, mix or DrawMix())
        calls += 1
    return out
