"""The demo generator's image synthesis and patient plans, on the real templates packages ship."""

from __future__ import annotations

import numpy as np
import pytest

from mimir.demo.patient_plan import draw_bleeds, draw_tumours, measure_ct, measure_mri, step_changes
from mimir.demo.synth import (
    CONTRASTS,
    TumourState,
    brain_subject,
    brain_visit,
    ct_slice_sample,
    ct_subject,
    disc_centre,
    fundus_eye,
    fundus_sample,
    mri_slice_sample,
    window_ct,
)
from mimir.demo.truth import classify_change


@pytest.fixture(scope="module")
def subject():
    return brain_subject(np.random.default_rng(11))


def _tissue_means(subject, visit, contrast):
    img = visit[contrast]
    outside = visit["labels"] == 0
    return {t: float(img[(getattr(subject, t) > 0.9) & outside].mean()) for t in ("csf", "gm", "wm")}


def test_contrasts_follow_tissue_physics(subject):
    visit = brain_visit(subject, TumourState(18.0, 11.0, 5.0), np.random.default_rng(0))
    t1, t2, flair = (_tissue_means(subject, visit, c) for c in ("T1", "T2", "FLAIR"))
    assert t1["wm"] > t1["gm"] > t1["csf"]
    assert t2["csf"] > t2["gm"] > t2["wm"]
    assert flair["csf"] < flair["wm"]
    labels = visit["labels"]
    assert set(np.unique(labels)) == {0, 1, 2}
    # the enhancing rim is bright on T1 post-contrast only
    rim = labels == 2
    assert visit["T1C"][rim].mean() > visit["T1"][rim].mean() + 0.3
    oedema = (labels == 1) & (visit["T2"] > 0)
    assert visit["FLAIR"][oedema].mean() > flair["wm"] + 0.2
    for c in CONTRASTS:
        assert visit[c].dtype == np.float32 and 0.0 <= visit[c].min() and visit[c].max() <= 1.0


def test_gross_total_resection_leaves_no_enhancement_and_a_dark_flair_cavity(subject):
    visit = brain_visit(subject, TumourState(20.0, cavity_radius_mm=11.0, rim_fraction=0.0), np.random.default_rng(1))
    assert not (visit["labels"] == 2).any()
    z = subject.lesion_slice
    assert visit["labels"][:, :, z].any()


def test_mri_slice_sample_shapes_and_some_empty():
    rng = np.random.default_rng(3)
    empties = 0
    for _ in range(12):
        images, label = mri_slice_sample(rng, size=96)
        assert set(images) == set(CONTRASTS)
        assert all(im.shape == (96, 96) and im.dtype == np.float32 for im in images.values())
        assert label.shape == (96, 96) and label.dtype == np.uint8 and label.max() <= 2
        empties += int(label.max() == 0)
    assert 0 < empties < 12


def test_ct_sample_window_and_haemorrhage_is_bright():
    rng = np.random.default_rng(4)
    seen = False
    for _ in range(6):
        image, label = ct_slice_sample(rng, size=128)
        assert image.shape == (128, 128) and 0.0 <= image.min() and image.max() <= 1.0
        if label.sum() > 20:
            seen = True
            assert image[label == 1].mean() > 0.7  # 60-90 HU in the W80/L40 window
    assert seen
    assert window_ct(np.array([-1000.0, 40.0, 200.0])).tolist() == [0.0, 0.5, 1.0]


def test_fundus_laterality_follows_optic_disc():
    rng = np.random.default_rng(5)
    for side in ("L", "R"):
        img, lesions = fundus_eye(rng, side, "normal", 128)
        r, c = disc_centre(side)
        bright = img.mean(axis=2)
        disc = bright[int(r * 128) - 5: int(r * 128) + 5, int(c * 128) - 5: int(c * 128) + 5].mean()
        mirror = bright[int(r * 128) - 5: int(r * 128) + 5, int((1 - c) * 128) - 5: int((1 - c) * 128) + 5].mean()
        assert disc > mirror + 0.1
        assert lesions == {"exudates": 0, "haemorrhages": 0, "drusen": 0}
    image, side, info = fundus_sample(rng, 64)
    assert image.shape == (64, 64, 3) and side in ("L", "R") and info["diagnosis"] in ("normal", "diabetic retinopathy", "AMD")


@pytest.mark.parametrize("trajectory", ["progressing", "stable", "improving", "resection_gtr", "resection_partial"])
def test_mri_plans_fall_clearly_in_their_class(subject, trajectory):
    rng = np.random.default_rng(7)
    for _ in range(16):
        tumours = draw_tumours(rng, trajectory, 3)
        measures = measure_mri(subject, tumours)
        changes = step_changes(trajectory, measures)
        if changes is not None:
            break
    assert changes is not None
    for before, after, change in zip(measures[:-1], measures[1:], changes[1:], strict=True):
        ratio = after["whole_ml"] / before["whole_ml"]
        if change == "progressing":
            assert ratio >= 1.4
        elif change == "stable":
            assert abs(ratio - 1) <= 0.05
        elif change == "improving":
            assert ratio <= 0.7
        elif change == "gross-total resection":
            assert after["enhancing_ml"] == 0 and before["enhancing_ml"] > 0
        else:
            assert 0 < after["enhancing_ml"] < before["enhancing_ml"]


def test_ct_plans_and_change_thresholds():
    sub = ct_subject(np.random.default_rng(8))
    rng = np.random.default_rng(9)
    bleeds = draw_bleeds(rng, "progressing", 3)
    assert step_changes("progressing", measure_ct(sub, bleeds)) == [None, "progressing", "progressing"]
    assert classify_change(10.0, 14.0) == "progressing"
    assert classify_change(10.0, 10.4) == "stable"
    assert classify_change(10.0, 7.0) == "improving"
    assert classify_change(10.0, 12.0) is None
