"""Fit a bundle's fingerprint from a folder of images it is meant for (``mimir experts fingerprint``).

Images are every readable image file under the folder that the bundle accepts (modality,
dimensions, channels: the checks run before any expert). A ``manifest.csv`` in the folder (columns
``path`` and ``modality``, as ``mimir demo build`` writes) gives the modality of plain pictures;
where there is one, plain pictures it does not list (label masks, thumbnails) are left out. For a
classifier, a manifest column whose values name the bundle's labels (``L`` names ``left``, as the
clinical vocabulary reads header codes) gives the labels the temperature is fitted on (every fourth
labelled image is held out to report the calibration). A 2D expert that also takes volumes (slice by
slice) is fitted on single slices only: its volumes are scored on one of their slices (see
:func:`mimir.tools.ood.gate.check_input`), so a volume file in the folder is not one of its inputs.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mimir.tools.bundles.workflow import BundleInfo, check_input, normalize_modality
from mimir.tools.framework.errors import ToolCannotHandle
from mimir.tools.ood import calibration, fingerprint
from mimir.tools.ood.features import FeatureExtractor, describe

log = logging.getLogger(__name__)
SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm", ".nii", ".nii.gz")
PICTURES = (".png", ".jpg", ".jpeg")
#: Concepts whose header codes may name a classifier's labels (``L`` for ``left``, ``CC``, ``T1C``).
LABEL_CONCEPTS = ("laterality", "view", "sequence")


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
    from mimir.tools.analysis.imaging import dicom_modality, load_image

    rows = _manifest(folder)
    by_stem = {Path(p).name.split(".")[0]: row for p, row in rows.items()}
    candidates = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)):
        row = rows.get(str(path.resolve()), {})
        if rows and not row and path.suffix.lower() in PICTURES:
            continue  # a picture the manifest does not list is no image of a study (a label mask)
        if not row and path.suffix.lower() not in PICTURES:
            row = {k: v for k, v in by_stem.get(path.name.split(".")[0], {}).items() if k != "modality"}
        modality = normalize_modality(row.get("modality") or (dicom_modality(path) if path.suffix == ".dcm" else None))
        if not (bundle.modalities and modality and modality not in bundle.modalities):
            candidates.append((path, row, modality))
    if limit and len(candidates) > limit:
        candidates = [candidates[int(i)] for i in np.linspace(0, len(candidates) - 1, limit)]
    out: list[tuple[Path, str | None]] = []
    for path, row, modality in candidates:
        try:
            image = load_image(path, modality)
            check_input(bundle, image)
        except ToolCannotHandle:
            continue
        if bundle.slice_wise and len(image.spatial_shape) == 3:
            continue
        out.append((path, label_of(row, tuple(bundle.labels.values()))))
    return out


def label_of(row: dict[str, str], names: tuple[str, ...]) -> str | None:
    """The one label name a manifest row's values give (by name, or by a header code the vocabulary reads)."""
    from mimir.vocabulary import code_of

    def same(value: str, name: str) -> bool:
        if value.strip().lower() == name.strip().lower():
            return True
        return any((c := code_of(concept, value)) is not None and c == code_of(concept, name)
                   for concept in LABEL_CONCEPTS)

    found = {n for k, v in row.items() if k not in ("path", "modality") and v for n in names if same(v, n)}
    return found.pop() if len(found) == 1 else None


def fingerprint_bundle(bundle: BundleInfo, folder: Path, progress: Callable[[int, int], None] | None = None,
                       limit: int = 400, source: str = "") -> fingerprint.Fingerprint:
    """Measure the accepted images (at most ``limit``), fit the fingerprint (and a classifier's temperature), store it.

    ``source`` says in words what the images are (stored with the fingerprint; default: the folder).
    """
    images = accepted_images(bundle, folder, limit)
    if len(images) < 20:
        raise ValueError(f"{folder} holds {len(images)} images that {bundle.name} accepts; a fingerprint needs 20")
    extractor = FeatureExtractor(bundle.root, bundle.task)
    measured = []
    for i, (path, _) in enumerate(images):
        measured.append(extractor.measure(path))
        if progress:
            progress(i + 1, len(images))
    fp = fingerprint.fit(**describe(bundle.root), measured=[m.groups for m in measured],
                         groups=_groups(folder, [p for p, _ in images]))
    fp.source = source or f"images under {folder}"
    fp.kinds = _kinds(images)
    index = {name: value for value, name in bundle.labels.items()}
    labelled = [(m.logits, index[label]) for m, (_, label) in zip(measured, images, strict=True)
                if label is not None and m.logits is not None]
    if bundle.task == "classification" and len(labelled) >= 20:
        fp.temperature, fp.calibration = _temperature(labelled)
    fingerprint.save(fp, bundle.root)
    return fp


def _groups(folder: Path, paths: list[Path]) -> list[str]:
    """Each image's patient (manifest column ``patient``, matched by file stem), else its file stem."""
    patient = {Path(row["path"]).name.split(".")[0]: row.get("patient", "") for row in _manifest(folder).values()}
    return [patient.get(p.name.split(".")[0]) or p.name.split(".")[0] for p in paths]


def _kinds(images: list[tuple[Path, str | None]]) -> dict[str, int]:
    """How many fitted files of each format (DICOM, PNG...)."""
    counts: dict[str, int] = {}
    for path, _ in images:
        kind = "NIfTI" if path.name.lower().endswith((".nii", ".nii.gz")) else path.suffix.lstrip(".").upper()
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _temperature(labelled: list[tuple[np.ndarray, int]]) -> tuple[float, dict[str, float]]:
    logits = np.stack([np.asarray(lg) for lg, _ in labelled])
    labels = np.asarray([lab for _, lab in labelled])
    fit_rows = np.arange(len(labels)) % 4 != 3
    t = calibration.fit_temperature(logits[fit_rows], labels[fit_rows])
    held_logits, held_labels = logits[~fit_rows], labels[~fit_rows]
    return t, {"held_out": float(len(held_labels)),
               "ece_before": round(calibration.ece(calibration.softmax(held_logits), held_labels), 4),
               "ece_after": round(calibration.ece(calibration.softmax(held_logits, t), held_labels), 4)}
