"""Brain MRI with a glioblastoma-like lesion on a per-patient deformed MNI152 brain.

Four contrasts come from tissue fractions (CSF, grey and white matter) and lesion components:
T1 (WM > GM > CSF), T1 post-contrast (T1 with a bright enhancing rim and the physiological
enhancement of dura, venous sinuses, choroid plexus and cortical veins from :mod:`mimir.demo.enhance`),
T2 (CSF > GM > WM, oedema bright) and FLAIR (CSF and cavity fluid dark, oedema bright).

Label convention: 0 background, 1 non-enhancing lesion (oedema, necrotic core, resection cavity),
2 enhancing tumour. Whole lesion = labels 1 or 2.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mimir.demo.anatomy import (
    VOXEL_MM,
    bias_field,
    brain_template,
    deformation,
    display_slice,
    pick_voxel,
    smooth_field,
    warp,
)
from mimir.demo.enhance import LEVEL_RANGE, blend, enhancement_map, lesion_free

CONTRASTS: tuple[str, ...] = ("T1", "T1C", "T2", "FLAIR")

#: Mean intensity of each tissue or lesion component per contrast, in [0, 1].
INTENSITY: dict[str, dict[str, float]] = {
    "T1": {"csf": 0.12, "gm": 0.45, "wm": 0.72, "oedema": 0.36, "necrosis": 0.18, "enhancing": 0.42, "cavity": 0.10},
    "T1C": {"csf": 0.12, "gm": 0.47, "wm": 0.72, "oedema": 0.37, "necrosis": 0.18, "enhancing": 0.95, "cavity": 0.10},
    "T2": {"csf": 0.95, "gm": 0.55, "wm": 0.34, "oedema": 0.80, "necrosis": 0.88, "enhancing": 0.60, "cavity": 0.95},
    "FLAIR": {"csf": 0.07, "gm": 0.50, "wm": 0.38, "oedema": 0.88, "necrosis": 0.55, "enhancing": 0.72, "cavity": 0.10},
}
_COMPONENTS = ("oedema", "necrosis", "enhancing", "cavity")


@dataclass(frozen=True)
class TumourState:
    """A lesion at one visit; radii in mm of an irregular (per-subject) distance field.

    ``enhancing_radius_mm`` is the outer edge of the enhancing rim; the necrotic core lies inside
    ``necrosis_radius_mm``. After surgery, ``cavity_radius_mm`` > 0 replaces the centre by fluid and
    ``rim_fraction`` is the share of the rim left enhancing (0 = gross-total resection).
    """

    oedema_radius_mm: float = 0.0
    enhancing_radius_mm: float = 0.0
    necrosis_radius_mm: float = 0.0
    cavity_radius_mm: float = 0.0
    rim_fraction: float = 1.0
    rim_thickness_mm: float = 4.0

    @property
    def present(self) -> bool:
        """True when the visit has any lesion."""
        return self.oedema_radius_mm > 0 or self.cavity_radius_mm > 0


@dataclass(frozen=True)
class BrainSubject:
    """One patient's deformed anatomy and lesion geometry (fixed across visits)."""

    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    mask: np.ndarray
    t1_texture: np.ndarray
    affine: np.ndarray
    centre_vox: tuple[float, float, float]
    shape_field: np.ndarray
    rim_direction: tuple[float, float, float]
    contrast_gain: dict[str, float]
    enhancement: np.ndarray
    enhancement_level: float

    @property
    def shape(self) -> tuple[int, int, int]:
        """Volume shape (x, y, z) in RAS voxel order."""
        return self.mask.shape

    @property
    def lesion_slice(self) -> int:
        """Axial slice index through the lesion centre."""
        return int(round(self.centre_vox[2]))


def _centre_candidates(mask: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """White-matter voxels at least 32 mm deep in the brain (depth measured on a 4 mm grid), (N, 3)."""
    coarse = mask[::2, ::2, ::2] > 0.5
    depth_mm = ndimage.distance_transform_edt(coarse) * VOXEL_MM * 2
    candidates = np.argwhere((depth_mm >= 32.0) & (wm[::2, ::2, ::2] > 0.5))
    if len(candidates) == 0:
        candidates = np.argwhere(depth_mm >= depth_mm.max() * 0.6)
    return candidates * 2


def _rim_direction(rng: np.random.Generator) -> tuple[float, float, float]:
    """A unit vector mostly in the axial plane, so a partial rim shows on the axial slice."""
    angle = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle), rng.uniform(-0.2, 0.2)])
    direction /= np.linalg.norm(direction)
    return float(direction[0]), float(direction[1]), float(direction[2])


def brain_subject(rng: np.random.Generator) -> BrainSubject:
    """A new patient: the MNI152 brain with a small random deformation and a lesion site."""
    tpl = brain_template()
    coords = deformation(rng, tpl.mask.shape)
    gm, wm = warp(tpl.gm, coords), warp(tpl.wm, coords)
    mask = (warp(tpl.mask, coords) > 0.5).astype(np.float32)
    csf = np.clip(mask - gm - wm, 0.0, 1.0)
    direction = _rim_direction(rng)
    # a spawned child stream, so the parent's draws (and every plan drawn after) stay as they were
    child = rng.spawn(1)[0]
    return BrainSubject(
        gm=gm * mask, wm=wm * mask, csf=csf * mask, mask=mask, t1_texture=warp(tpl.t1, coords) * mask,
        affine=tpl.affine.copy(), centre_vox=pick_voxel(rng, _centre_candidates(mask, wm)),
        shape_field=smooth_field(rng, tpl.mask.shape, coarse=6),
        rim_direction=direction,
        contrast_gain={c: float(rng.uniform(0.93, 1.07)) for c in CONTRASTS},
        enhancement=enhancement_map(child, coords, mask), enhancement_level=float(child.uniform(*LEVEL_RANGE)),
    )


def tumour_masks(subject: BrainSubject, tumour: TumourState, zslab: slice | None = None) -> dict[str, np.ndarray]:
    """Boolean masks ``oedema``, ``necrosis``, ``enhancing``, ``cavity`` (disjoint) inside the brain."""
    zs = zslab or slice(0, subject.shape[2])
    shape = (subject.shape[0], subject.shape[1], len(range(*zs.indices(subject.shape[2]))))
    brain = subject.mask[:, :, zs] > 0.5
    if not tumour.present:
        return {k: np.zeros(shape, dtype=bool) for k in _COMPONENTS}
    grid = np.indices(shape, dtype=np.float32)
    grid[2] += zs.start or 0
    offset = [(grid[i] - subject.centre_vox[i]) * VOXEL_MM for i in range(3)]
    radial = np.sqrt(sum(o * o for o in offset)) + 1e-6
    dist = radial / (1.0 + 0.18 * subject.shape_field[:, :, zs])
    cavity = dist < tumour.cavity_radius_mm
    if tumour.cavity_radius_mm > 0:
        cos = sum(o * d for o, d in zip(offset, subject.rim_direction, strict=True)) / radial
        sector = cos > 1.0 - 2.0 * tumour.rim_fraction
        rim_outer = tumour.cavity_radius_mm + tumour.rim_thickness_mm
        enhancing = ~cavity & (dist < rim_outer) & sector
    else:
        enhancing = (dist < tumour.enhancing_radius_mm) & (dist >= tumour.necrosis_radius_mm)
    necrosis = ~cavity & (dist < tumour.necrosis_radius_mm) & ~enhancing
    whole = dist < max(tumour.oedema_radius_mm, tumour.enhancing_radius_mm)
    oedema = whole & ~cavity & ~enhancing & ~necrosis
    return {k: v & brain for k, v in
            {"oedema": oedema, "necrosis": necrosis, "enhancing": enhancing, "cavity": cavity}.items()}


#: Label values of the tumour compartments (BraTS-style: the surrounding non-enhancing signal, the
#: enhancing tumour, the necrotic core and the resection cavity).
COMPARTMENT_LABELS: dict[str, int] = {"oedema": 1, "enhancing": 2, "necrosis": 3, "cavity": 4}


def compartment_labels(masks: dict[str, np.ndarray]) -> np.ndarray:
    """The 0-4 compartment volume: 1 oedema, 2 enhancing tumour, 3 necrotic core, 4 resection cavity."""
    out = np.zeros(next(iter(masks.values())).shape, dtype=np.uint8)
    for name, value in COMPARTMENT_LABELS.items():
        out[masks[name]] = value
    return out


def labels_from_masks(masks: dict[str, np.ndarray]) -> np.ndarray:
    """The 0/1/2 label volume (1 = non-enhancing lesion incl. necrosis and cavity, 2 = enhancing)."""
    labels = (masks["oedema"] | masks["necrosis"] | masks["cavity"]).astype(np.uint8)
    labels[masks["enhancing"]] = 2
    return labels


def _soft_masks(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Slightly blurred component masks (partial volume at the lesion edge), blurred in a bounding box."""
    any_mask = np.logical_or.reduce(list(masks.values()))
    soft = {k: np.zeros(m.shape, dtype=np.float32) for k, m in masks.items()}
    if not any_mask.any():
        return soft
    idx = np.argwhere(any_mask)
    box = tuple(slice(max(int(lo) - 3, 0), int(hi) + 4) for lo, hi in zip(idx.min(0), idx.max(0), strict=True))
    for k, m in masks.items():
        soft[k][box] = ndimage.gaussian_filter(m[box].astype(np.float32), 0.6)
    return soft


def brain_visit(subject: BrainSubject, tumour: TumourState, rng: np.random.Generator,
                zslab: slice | None = None) -> dict[str, np.ndarray]:
    """Render one visit: ``T1``, ``T1C``, ``T2``, ``FLAIR`` (float32 in [0, 1]), ``labels`` and ``compartments`` (uint8).

    ``zslab`` renders only those axial slices (fast path for 2D samples).
    """
    zs = zslab or slice(0, subject.shape[2])
    masks = tumour_masks(subject, tumour, zs)
    soft = _soft_masks(masks)
    lesion_w = np.clip(sum(soft.values()), 0.0, 1.0)
    texture = 1.0 + 0.06 * subject.shape_field[:, :, zs]
    brain = subject.mask[:, :, zs]
    t1_tex = subject.t1_texture[:, :, zs]
    bias = bias_field(rng, brain.shape, 0.1)
    enhancing_normal = lesion_free(subject.enhancement[:, :, zs], np.logical_or.reduce(list(masks.values())))
    level = subject.enhancement_level * float(rng.spawn(1)[0].uniform(0.96, 1.03))
    out: dict[str, np.ndarray] = {}
    for contrast in CONTRASTS:
        table = INTENSITY[contrast]
        tissue = sum(table[t] * getattr(subject, t)[:, :, zs] for t in ("csf", "gm", "wm"))
        if contrast in ("T1", "T1C"):
            tissue = 0.55 * tissue + 0.45 * t1_tex * 0.85
        if contrast == "T1C":
            tissue = blend(tissue, enhancing_normal, level)
        lesion = sum(table[k] * soft[k] for k in _COMPONENTS) * texture
        img = ((1.0 - lesion_w) * tissue + lesion) * subject.contrast_gain[contrast] * bias
        img = img + 0.018 * rng.standard_normal(size=img.shape, dtype=np.float32)
        out[contrast] = np.clip(img * brain, 0.0, 1.0).astype(np.float32)
    out["labels"] = labels_from_masks(masks) * (brain > 0.5)
    out["compartments"] = compartment_labels(masks) * (brain > 0.5)
    return out


#: Share of lesions that 2D samples show after surgery (a resection cavity) unless asked otherwise.
POSTOP_SHARE = 0.15


def random_tumour(rng: np.random.Generator, max_radius_mm: float = 30.0,
                  postop_share: float = POSTOP_SHARE, min_necrosis: float = 0.0) -> TumourState:
    """A lesion of random size: none (about 1 in 6), small to large, operated in ``postop_share`` of the rest.

    Half the operated lesions keep part of their enhancing rim (partial resection). The necrotic core's
    radius is ``min_necrosis`` to 0.6 of the enhancing radius.
    """
    if rng.random() < 1 / 6:
        return TumourState()
    oedema = rng.uniform(6.0, max_radius_mm)
    enhancing = oedema * rng.uniform(0.5, 0.75)
    necrosis = enhancing * rng.uniform(min_necrosis, 0.6)
    if rng.random() < postop_share:
        return TumourState(oedema_radius_mm=oedema, cavity_radius_mm=enhancing * 0.9,
                           rim_fraction=float(rng.choice([0.0, rng.uniform(0.2, 0.6)])))
    return TumourState(oedema_radius_mm=oedema, enhancing_radius_mm=enhancing, necrosis_radius_mm=necrosis)


#: Anatomies per sample pool. Pools are disjoint sets of deformed brains: experts train on pool 0
#: and are evaluated on pool 1, so evaluation never sees a training anatomy.
POOL_SIZE = 8


@functools.lru_cache(maxsize=4 * POOL_SIZE)
def _pooled_subject(pool: int, key: int) -> tuple[BrainSubject, np.ndarray]:
    subject = brain_subject(np.random.default_rng([20240611, pool, key]))
    return subject, _centre_candidates(subject.mask, subject.wm)


def mri_slice_sample(rng: np.random.Generator, size: int = 128, pool: int = 0,
                     postop_share: float = POSTOP_SHARE, anywhere: bool = False,
                     compartments: bool = False, max_radius_mm: float = 30.0,
                     min_necrosis: float = 0.0, key: bool = False,
                     anatomies: int = POOL_SIZE) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One axial slice near the lesion centre for each contrast (float32 [0, 1]) and its label slice.

    The anatomy is one of ``POOL_SIZE`` deformed brains of sample pool ``pool`` (cached per
    process); the lesion's site, rim direction and state, the noise and the bias field are new on
    every call, so lesions appear anywhere in the deep white matter. About 1 in 6 samples has no
    lesion; ``postop_share`` of the others show a resection cavity (see :func:`random_tumour`).
    ``anywhere`` cuts the slice at any axial level of the brain instead (most such slices miss the
    lesion: the levels a whole volume holds); ``compartments`` returns the 0-4 compartment labels
    (:func:`compartment_labels`) instead of 0/1/2; ``max_radius_mm`` bounds the lesion's oedema radius
    (6 mm to it) and ``min_necrosis`` its necrotic core (see :func:`random_tumour`); ``key`` cuts the
    slice through the lesion centre, as the demo's key images are (else up to 3 slices off it);
    ``anatomies`` draws among that many brains of the pool (``POOL_SIZE`` unless a training plan asks
    for more: every pool's brains are its own, whatever their number).
    """
    base, candidates = _pooled_subject(pool, int(rng.integers(anatomies)))
    subject = dataclasses.replace(base, centre_vox=pick_voxel(rng, candidates), rim_direction=_rim_direction(rng))
    tumour = random_tumour(rng, max_radius_mm=max_radius_mm, postop_share=postop_share, min_necrosis=min_necrosis)
    if anywhere:
        levels = np.flatnonzero(subject.mask.any(axis=(0, 1)))
        z = int(np.clip(rng.integers(levels[0], levels[-1] + 1), 1, subject.shape[2] - 2))
    else:
        offset = int(rng.integers(-3, 4))  # drawn for key slices too, so that the random stream is the same
        z = int(np.clip(subject.lesion_slice + (0 if key else offset), 1, subject.shape[2] - 2))
    visit = brain_visit(subject, tumour, rng, zslab=slice(z - 1, z + 2))
    images = {c: display_slice(visit[c], 1, size) for c in CONTRASTS}
    label = display_slice(visit["compartments" if compartments else "labels"], 1, size, order=0)
    return images, label
