"""Run one of mimir's bundles exactly as mimir's runner does: MONAI's ``ConfigWorkflow``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np


def run_bundle(bundle: Path, images: list[Path], output_dir: Path, device: str = "cpu") -> None:
    """Run ``bundle`` on ``images`` in one workflow (batch evaluation), writing to ``output_dir``."""
    from mimir.tools.bundles.workflow import run_workflow

    run_workflow(bundle, images, output_dir, device)


def read_mask(output_dir: Path, image: Path) -> np.ndarray:
    """The mask a segmentation bundle saved for ``image``, in MONAI's (columns, rows) layout."""
    import nibabel as nib

    stem = image.name.split(".")[0]
    path = output_dir / f"{stem}_seg.nii.gz"
    if not path.exists():
        raise FileNotFoundError(f"The bundle wrote no mask for {image} (expected {path})")
    return np.asarray(nib.load(str(path)).dataobj)  # type: ignore[attr-defined]


def read_predictions(output_dir: Path) -> dict[str, np.ndarray]:
    """``predictions.csv`` of a classification bundle: image path -> class probabilities in label order.

    MONAI's ClassificationSaver writes one row per image with no header: the image path as given
    in the datalist, then one softmax probability per class.
    """
    rows: dict[str, np.ndarray] = {}
    with open(output_dir / "predictions.csv", newline="") as f:
        for row in csv.reader(f):
            if row:
                rows[row[0]] = np.asarray([float(v) for v in row[1:]], dtype=np.float32)
    return rows


def read_metadata(bundle: Path) -> dict[str, object]:
    """The bundle's ``configs/metadata.json``."""
    return dict(json.loads((bundle / "configs" / "metadata.json").read_text()))
