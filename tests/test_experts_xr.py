"""Chest-radiograph and mammography experts: floors on unseen patients, and on the files a demo build writes.

The floors are measured on freshly generated images of sample pool 1 (patients never used in
training, seeds never used in training) through MONAI's ``ConfigWorkflow``, as the model cards say;
the demo-file tests run the bundles on the PNG and DICOM files ``mimir demo build`` writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mimir.demo.render import BuildOptions, build_patient
from mimir.demo.truth import ImageTruth, PatientTruth
from mimir.evals.expert_change import chest_change_agreement, mammo_change_agreement
from mimir.tools.experts.bundle import read_predictions, run_bundle
from mimir.tools.experts.evaluate import evaluate_expert
from mimir.tools.experts.train import bundle_dir

#: A seed no committed expert was trained with (the bundles' training.json say seed 0).
EVAL_SEED = 20261123
#: Demo seed of the chest patients whose change between visits is read from the finding masks (used for nothing else).
CHANGE_SEED = 3131
#: Chest-finding floors (model card: measured 0.951 whole and label-wise, pneumothorax 0.923, no finding on
#: 10 of 10 finding-free films, at seed 20261201, n = 100; every one of 54 pairs of visits read right).
DICE_WHOLE_FLOOR, DICE_LABELWISE_FLOOR, DICE_PNEUMOTHORAX_FLOOR, FALSE_POSITIVE_CEILING = 0.90, 0.85, 0.80, 0.2
#: The issue's bar for temporal and comparison items.
CHANGE_FLOOR = 0.95
#: Demo seed of the mammography patients whose change between visits is read from the lesion masks (used for nothing else).
MG_CHANGE_SEED = 3232
#: Breast-lesion floors (model card: Dice 0.946 whole and label-wise at seed 20261202, n = 200; a lesion on 7.9 % of lesion-free
#: generated images and 6.8 % of lesion-free demo images; 78 of 80 pairs of visits read right on demo seed 5354).
MG_DICE_WHOLE_FLOOR, MG_DICE_LABELWISE_FLOOR, MG_FALSE_POSITIVE_CEILING = 0.88, 0.88, 0.10


@pytest.mark.parametrize("name", ["mammo_view_classifier", "mammo_laterality_classifier", "chest_xr_view_classifier"])
def test_view_and_side_accuracy_floor(name: str) -> None:
    report = evaluate_expert(name, EVAL_SEED, n=40)
    assert report.metrics["accuracy"] >= 0.95, report


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[PatientTruth]]:
    out = tmp_path_factory.mktemp("films")
    seed = 13
    return out, [build_patient(seed, i, out, BuildOptions(kinds=("cxr", "mg"))) for i in range(4)]  # 2 chest, 2 breast


def _images(truths: list[PatientTruth], kind: str) -> list[ImageTruth]:
    return [im for p in truths if p.kind == kind for v in p.visits for im in v.images]


@pytest.mark.parametrize("fmt", ["png", "dicom"])
def test_classifiers_on_demo_films(films: tuple[Path, list[PatientTruth]], tmp_path: Path, fmt: str) -> None:
    out, truths = films
    cases = [("mammo_view_classifier", _images(truths, "mg"), lambda im: im.view, ("CC", "MLO")),
             ("mammo_laterality_classifier", _images(truths, "mg"), lambda im: im.laterality, ("L", "R")),
             ("chest_xr_view_classifier", _images(truths, "cxr"), lambda im: im.view, ("PA", "AP"))]
    for bundle, images, truth_of, labels in cases:
        paths = [out / getattr(im, fmt) for im in images]
        folder = tmp_path / bundle
        run_bundle(bundle_dir(bundle), paths, folder)
        probs = read_predictions(folder)
        right = [labels[int(np.argmax(probs[str(p)]))] == truth_of(im) for im, p in zip(images, paths, strict=True)]
        assert float(np.mean(right)) >= 0.95, (bundle, fmt, right)


def test_chest_finding_dice_floor() -> None:
    """Whole-finding, label-wise and pneumothorax Dice on unseen patients (the model card's figures)."""
    report = evaluate_expert("chest_xr_finding_seg", EVAL_SEED, n=100)
    assert report.metrics["slices_with_lesion"] >= 70
    assert report.metrics["dice_whole"] >= DICE_WHOLE_FLOOR, report.metrics
    assert report.metrics["dice_labelwise"] >= DICE_LABELWISE_FLOOR, report.metrics
    assert report.per_group["pneumothorax"]["dice_whole"] >= DICE_PNEUMOTHORAX_FLOOR, report.per_group
    assert report.metrics["false_positive_rate"] <= FALSE_POSITIVE_CEILING, report.metrics


@pytest.mark.parametrize("fmt", ["png", "dicom"])
def test_chest_change_read_from_masks(fmt: str) -> None:
    """The change between visits read from the masks as the planner reads it, on unseen demo patients."""
    report = chest_change_agreement(bundle_dir("chest_xr_finding_seg"), CHANGE_SEED, 8, fmt)  # type: ignore[arg-type]
    assert len(report.pairs) >= 15
    assert report.agreement >= CHANGE_FLOOR, [p for p in report.pairs if not p.right]


def test_mammo_lesion_dice_floor() -> None:
    """Whole-lesion and label-wise Dice, and lesions read on lesion-free images, on unseen patients (model card)."""
    report = evaluate_expert("mammo_lesion_seg", EVAL_SEED, n=100)
    assert report.metrics["slices_with_lesion"] >= 50 and report.metrics["lesion_free_slices"] >= 20
    assert report.metrics["dice_whole"] >= MG_DICE_WHOLE_FLOOR, report.metrics
    assert report.metrics["dice_labelwise"] >= MG_DICE_LABELWISE_FLOOR, report.metrics
    assert report.metrics["false_positive_rate"] <= MG_FALSE_POSITIVE_CEILING, report.metrics


@pytest.mark.parametrize("fmt", ["png", "dicom"])
def test_mammo_change_read_from_masks(fmt: str) -> None:
    """A breast lesion's change between yearly mammograms read from the masks as the planner reads it."""
    report = mammo_change_agreement(bundle_dir("mammo_lesion_seg"), MG_CHANGE_SEED, 8, fmt)  # type: ignore[arg-type]
    assert len(report.pairs) >= 15 and report.lesion_free_images >= 40
    assert report.agreement >= CHANGE_FLOOR, [p for p in report.pairs if not p.right]
    assert report.false_positive_rate is not None and report.false_positive_rate <= MG_FALSE_POSITIVE_CEILING
