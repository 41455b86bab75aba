"""Evaluate a 2D segmentation expert on whole generated volumes, slice by slice, as the tools run it.

Each volume is a new patient (a fresh deformation of the template, a new lesion site, noise and bias
field) drawn with ``numpy.random.default_rng([seed, k])``; half hold a lesion (for the brain expert
as the demo draws them: growing, shrinking and operated), half none. Volumes are written as NIfTI
files the way the demo writes them, read back with MONAI's reader and segmented through the expert
engine slice by slice (:func:`mimir.tools.bundles.slicewise.segment_slices`); the masks are measured with the
same index-lesion and measurable-disease rules as the ``segment`` tool.

Figures: ``dice_whole`` (3D, lesion volumes), ``volume_error_pct`` (index lesion against the true
lesion volume, mean absolute), per label of the expert the mean absolute volume error (mL) on T1C, and
on the lesion-free volumes ``no_measurable_rate`` (read as no measurable lesion), ``any_voxel_rate`` (any
lesion voxel at all), ``free_lesion_ml`` (mean false lesion volume) and ``free_slice_fp_rate`` (share
of the axial slices through the head or brain with any lesion voxel: the per-slice false-positive rate).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from mimir.tools.experts.evaluate import dice, training_seeds
from mimir.tools.experts.train import bundle_dir

#: The demo's compartment values (``compartments`` volume) that make up each label an expert may name.
TRUTH_OF_LABEL: dict[str, tuple[int, ...]] = {
    "non-enhancing lesion": (1, 3, 4), "enhancing tumour": (2,), "necrotic core": (3,), "resection cavity": (4,),
    "oedema": (1,),
}


class VolumeSample(BaseModel):
    """One generated volume: the image (RAS, float), its labels and what the expert should see."""

    model_config = {"arbitrary_types_allowed": True}

    image: np.ndarray
    labels: np.ndarray = Field(description="Whole lesion > 0; for MR the 0-4 compartment volume")
    affine: np.ndarray
    modality: str
    lesion: bool


class VolumeReport(BaseModel):
    """Figures for one expert on ``n`` fresh volumes drawn with ``seed``."""

    expert: str
    seed: int
    n: int
    metrics: dict[str, float]
    per_label: dict[str, dict[str, float]] = Field(default_factory=dict, description="Label volume errors (T1C)")


def _mri_volume(rng: np.random.Generator, lesion: bool) -> VolumeSample:
    from mimir.demo.brain import POSTOP_SHARE, TumourState, brain_subject, brain_visit, random_tumour

    subject = brain_subject(rng)
    tumour = TumourState()
    while lesion and not tumour.present:
        tumour = random_tumour(rng, postop_share=POSTOP_SHARE)
    visit = brain_visit(subject, tumour, rng)
    return VolumeSample(image=visit["T1C"], labels=visit["compartments"], affine=subject.affine, modality="MR",
                        lesion=bool(visit["compartments"].any()))


def _ct_volume(rng: np.random.Generator, lesion: bool) -> VolumeSample:
    from mimir.demo.ct import HaemorrhageState, ct_subject, ct_visit

    subject = ct_subject(rng)
    bleed = HaemorrhageState(float(rng.uniform(6.0, 20.0)), float(rng.uniform(60.0, 90.0))) if lesion else HaemorrhageState()
    visit = ct_visit(subject, bleed, rng)
    return VolumeSample(image=visit["HU"], labels=visit["labels"], affine=subject.affine, modality="CT",
                        lesion=bool(visit["labels"].any()))


DRAWERS = {"brain_mri_lesion_seg": _mri_volume, "head_ct_haemorrhage_seg": _ct_volume}


def _segment(root: Path, sample: VolumeSample, folder: Path, k: int) -> tuple[np.ndarray, object, dict[int, str]]:
    from mimir.demo.writers import write_nifti
    from mimir.tools.analysis.geometry import index_lesion
    from mimir.tools.analysis.imaging import load_image
    from mimir.tools.bundles.engine import ENGINES
    from mimir.tools.bundles.slicewise import segment_slices, to_lps
    from mimir.tools.bundles.workflow import read_bundle

    path = folder / f"vol{k:03d}.nii.gz"
    write_nifti(path, sample.image, sample.affine, scale=None if sample.modality == "CT" else 4095.0)
    image = load_image(path, sample.modality)
    bundle = read_bundle(root)
    mask = segment_slices(ENGINES.get(bundle), image, bundle.fov_mm)
    lps = to_lps(mask, image.affine)
    return mask, index_lesion(lps.array, lps.spacing, bundle.labels), bundle.labels


def evaluate_volumes(name: str, seed: int, n: int = 8, bundle: Path | None = None,
                     lesion_free: bool = False) -> VolumeReport:
    """Score expert ``name`` (its shipped bundle, or ``bundle``) on ``n`` fresh volumes, half with a lesion.

    With ``lesion_free`` every volume is lesion-free (the false-positive figures alone).
    """
    if name not in DRAWERS:
        raise ValueError(f"Volume evaluation covers {', '.join(DRAWERS)}; not {name!r}")
    root = bundle or bundle_dir(name)
    if seed in training_seeds(root):
        raise ValueError(f"Seed {seed} was used to train {name}; pick another")
    rows: dict[str, list[float]] = {}
    labels: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix=f"mimir-volumes-{name}-") as tmp:
        for k in range(n):
            sample = DRAWERS[name](np.random.default_rng([seed, k]), k % 2 == 0 and not lesion_free)
            mask, target, names = _segment(root, sample, Path(tmp), k)
            _score(sample, mask, target, rows, labels, names)
    metrics = {key: float(np.mean(v)) for key, v in rows.items()}
    metrics["lesion_volumes"] = float(len(rows.get("dice_whole", [])))
    metrics["lesion_free_volumes"] = float(len(rows.get("no_measurable_rate", [])))
    per_label = {k: {"abs_error_ml": float(np.mean(v)), "n": float(len(v))} for k, v in labels.items()}
    return VolumeReport(expert=name, seed=seed, n=n, metrics=metrics, per_label=per_label)


def _score(sample: VolumeSample, mask: np.ndarray, target: object, rows: dict[str, list[float]],
           labels: dict[str, list[float]], names: dict[int, str]) -> None:
    from mimir.tools.analysis.geometry import IndexLesion

    voxel_ml = float(abs(np.linalg.det(sample.affine[:3, :3]))) / 1000.0
    assert target is None or isinstance(target, IndexLesion)
    if not sample.lesion:
        rows.setdefault("no_measurable_rate", []).append(float(target is None or not target.measurable))
        rows.setdefault("any_voxel_rate", []).append(float(mask.any()))
        rows.setdefault("free_lesion_ml", []).append(float((mask > 0).sum()) * voxel_ml)
        rows.setdefault("free_slice_fp_rate", []).append(_slice_fp_rate(sample, mask))
        return
    truth_ml = float((sample.labels > 0).sum()) * voxel_ml
    rows.setdefault("dice_whole", []).append(dice(mask > 0, sample.labels > 0))
    found = target.size if target is not None else 0.0
    rows.setdefault("volume_error_pct", []).append(100.0 * abs(found - truth_ml) / truth_ml)
    rows.setdefault("found_measurable_rate", []).append(float(target is not None and target.measurable))
    if sample.modality == "MR":
        for value, name in names.items():
            parts = TRUTH_OF_LABEL.get(name)
            if value == 0 or parts is None:
                continue
            true_ml = float(np.isin(sample.labels, parts).sum()) * voxel_ml
            if true_ml > 0 or (mask == value).any():
                labels.setdefault(name, []).append(abs(float((mask == value).sum()) * voxel_ml - true_ml))


def _slice_fp_rate(sample: VolumeSample, mask: np.ndarray) -> float:
    """Share of a lesion-free volume's axial slices holding a picture (not constant) with any lesion voxel."""
    from mimir.tools.bundles.slicewise import to_lps

    image, found = to_lps(sample.image, sample.affine).array, to_lps(mask, sample.affine).array
    picture = [z for z in range(image.shape[2]) if float(np.ptp(image[:, :, z])) > 0]
    return float(np.mean([bool(found[:, :, z].any()) for z in picture])) if picture else 0.0
