"""Fit a bundle's fingerprint from a folder of images it is meant for (``mimir experts fingerprint``).

Images are every readable image file under the folder that the bundle accepts (modality,
dimensions, channels: the checks run before any expert). A ``manifest.csv`` in the folder (columns
``path`` and ``modality``, as ``mimir demo build`` writes) gives the modality of plain pictures;
for a classifier, a manifest column whose values are the bundle's label names gives the labels the
temperature is fitted on (every fourth labelled image is held out to report the calibration).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mimir.tools.errors import ToolCannotHandle
from mimir.tools.monai_bundle import BundleInfo, check_input, normalize_modality
from mimir.tools.ood import calibration, fingerprint
from mimir.tools.ood.features import FeatureExtractor, describe

log = logging.getLogger(__name__)
SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm", ".nii", ".nii.gz")


def _manifest(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / "manifest.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        return {str((folder / row["path"]).resolve()): row for row in csv.DictReader(f) if row.get("path")}


def accepted_images(bundle: BundleInfo, folder: Path, limit: int = 0) -> list[tuple[Path, str | None]]:
    """Image files under ``folder`` the bundle accepts, each with its label name when the manifest gives one.

    With ``limit``, at most that many, evenly spaced over the sorted candidates.
    """
    from mimir.tools.imaging import dicom_modality, load_image

    rows = _manifest(folder)
    candidates = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)):
        row = rows.get(str(path.resolve()), {})
        modality = normalize_modality(row.get("modality") or (dicom_modality(path) if path.suffix == ".dcm" else None))
        if not (bundle.modalities and modality and modality not in bundle.modalities):
            candidates.append((path, row, modality))
    if limit and len(candidates) > limit:
        candidates = [candidates[int(i)] for i in np.linspace(0, len(candidates) - 1, limit)]
    names = set(bundle.labels.values())
    out: list[tuple[Path, str | None]] = []
    for path, row, modality in candidates:
        try:
            check_input(bundle, load_image(path, modality))
        except ToolCannotHandle:
            continue
        label = next((v for k, v in row.items() if k not in ("path", "modality") and v in names), None)
        out.append((path, label))
    return out


def fingerprint_bundle(bundle: BundleInfo, folder: Path, progress: Callable[[int, int], None] | None = None,
                       limit: int = 400) -> fingerprint.Fingerprint:
    """Measure the accepted images (at most ``limit``), fit the fingerprint (and a classifier's temperature), store it."""
    images = accepted_images(bundle, folder, limit)
    if len(images) < 20:
        raise ValueError(f"{folder} holds {len(images)} images that {bundle.name} accepts; a fingerprint needs 20")
    extractor = FeatureExtractor(bundle.root, bundle.task)
    measured = []
    for i, (path, _) in enumerate(images):
        measured.append(extractor.measure(path))
        if progress:
            progress(i + 1, len(images))
    fp = fingerprint.fit(**describe(bundle.root), measured=[m.groups for m in measured])
    index = {name: value for value, name in bundle.labels.items()}
    labelled = [(m.logits, index[label]) for m, (_, label) in zip(measured, images, strict=True)
                if label is not None and m.logits is not None]
    if bundle.task == "classification" and len(labelled) >= 20:
        fp.temperature, fp.calibration = _temperature(labelled)
    fingerprint.save(fp, bundle.root)
    return fp


def _temperature(labelled: list[tuple[np.ndarray | None, int]]) -> tuple[float, dict[str, float]]:
    logits = np.stack([np.asarray(lg) for lg, _ in labelled])
    labels = np.asarray([lab for _, lab in labelled])
    fit_rows = np.arange(len(labels)) % 4 != 3
    t = calibration.fit_temperature(logits[fit_rows], labels[fit_rows])
    held_logits, held_labels = logits[~fit_rows], labels[~fit_rows]
    return t, {"held_out": float(len(held_labels)),
               "ece_before": round(calibration.ece(calibration.softmax(held_logits), held_labels), 4),
               "ece_after": round(calibration.ece(calibration.softmax(held_logits, t), held_labels), 4)}
