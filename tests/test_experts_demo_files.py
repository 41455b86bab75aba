"""mimir's segmentation experts on the files the demo build writes: key-image PNGs and DICOM slices.

The evaluation in ``test_experts_bundles`` uses freshly generated PNGs; these tests run the
bundles on what ``mimir.demo.build`` hands the rest of mimir (8-bit PNGs, 12-bit MR DICOM and
HU-rescaled CT DICOM) and score the masks against the label PNGs the build writes beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mimir.demo.build import BuildOptions, build_demo
from mimir.tools.experts.bundle import read_mask, run_bundle
from mimir.tools.experts.evaluate import dice
from mimir.tools.experts.train import bundle_dir

#: Seed of the small demo set (three patients: MRI, MRI, CT; see ``mimir.demo.patient_plan.KIND_CYCLE``).
DEMO_SEED = 11


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    build_demo(out, 3, DEMO_SEED, 1, BuildOptions(series=False, nifti=False))
    return out


def _cases(demo: Path, kind: str) -> list[tuple[dict[str, str], np.ndarray]]:
    """(image truth, label picture) for every image of every visit of ``kind`` patients.

    A visit's label PNG is written for its T1C key image; all contrasts of the visit show the same
    slice, so the label applies to each of them.
    """
    truth = json.loads((demo / "ground_truth.json").read_text())
    cases = []
    for patient in truth["patients"]:
        if patient["kind"] != kind:
            continue
        for visit in patient["visits"]:
            labels = [im["label_png"] for im in visit["images"] if im.get("label_png")]
            label = np.asarray(Image.open(demo / labels[0]))
            cases += [(im, label) for im in visit["images"]]
    return cases


def _dice_per_file(demo: Path, bundle: str, kind: str, fmt: str, out: Path) -> list[float]:
    """Whole-lesion Dice of ``bundle`` on the ``fmt`` ("png" or "dicom") files of lesion-bearing images."""
    cases = [(im, lab) for im, lab in _cases(demo, kind) if lab.any()]
    paths = [demo / im[fmt] for im, _ in cases]
    run_bundle(bundle_dir(bundle), paths, out)  # PNG and DICOM share a stem: one output folder per format
    # MONAI's readers return (columns, rows): transpose the mask back to the picture's layout
    return [dice(read_mask(out, p).T > 0, lab > 0) for p, (_, lab) in zip(paths, cases, strict=True)]


@pytest.mark.parametrize("fmt", ["png", "dicom"])
def test_lesion_bundle_on_demo_key_images(demo: Path, fmt: str, tmp_path: Path) -> None:
    scores = _dice_per_file(demo, "brain_mri_lesion_seg", "mri", fmt, tmp_path)
    assert len(scores) >= 8
    assert float(np.mean(scores)) >= 0.8, scores


@pytest.mark.parametrize("fmt", ["png", "dicom"])
def test_haemorrhage_bundle_on_demo_ct(demo: Path, fmt: str, tmp_path: Path) -> None:
    # the CT DICOM loads in HU (RescaleIntercept -1024); the PNG is the brain window in 8 bits
    scores = _dice_per_file(demo, "head_ct_haemorrhage_seg", "ct", fmt, tmp_path)
    assert scores, "the demo set has no CT image with haemorrhage"
    assert min(scores) >= 0.8, scores


def test_ct_dicom_loads_in_hounsfield_units(demo: Path) -> None:
    from monai.transforms import LoadImage

    image, _ = next((im, lab) for im, lab in _cases(demo, "ct") if lab.any())
    hu = np.asarray(LoadImage(image_only=True)(str(demo / image["dicom"])))
    png = np.asarray(Image.open(demo / image["png"]), dtype=np.float32)
    assert hu.min() < -500  # air: the bundle must window it, not min-max scale it
    windowed = np.clip(hu.T / 80.0, 0.0, 1.0) * 255.0  # the demo's brain window, HU 0-80
    assert np.abs(windowed - png).max() <= 2.0  # the DICOM stores whole HU: 0.5 HU is 1.6 grey levels
