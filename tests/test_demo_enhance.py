"""Physiological enhancement on the demo T1 post-contrast: on every brain slice, outside the lesion, T1C only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from mimir.demo.synth import TumourState, brain_subject, brain_visit, mri_slice_sample

#: T1C - T1 above this is enhancement (noise in the difference has a standard deviation of about 0.03).
THRESHOLD = 0.2
MIN_PIXELS = 30


@pytest.fixture(scope="module")
def subject():
    return brain_subject(np.random.default_rng(23))


def _normal_enhancing_pixels(t1: np.ndarray, t1c: np.ndarray, label: np.ndarray) -> int:
    outside = ~ndimage.binary_dilation(label > 0, iterations=2)
    return int(((t1c - t1 > THRESHOLD) & outside).sum())


def test_every_sampled_slice_shows_normal_enhancement_outside_the_lesion():
    rng = np.random.default_rng(5)
    counts = {True: [], False: []}
    for _ in range(36):
        images, label = mri_slice_sample(rng, size=128)
        counts[bool(label.any())].append(_normal_enhancing_pixels(images["T1"], images["T1C"], label))
    assert counts[True] and counts[False], "need slices with and without lesions"
    assert min(counts[True] + counts[False]) >= MIN_PIXELS, counts


def test_every_brain_slice_of_a_volume_enhances_and_the_lesion_is_untouched(subject):
    tumour = TumourState(24.0, 15.0, 6.0)
    visit = brain_visit(subject, tumour, np.random.default_rng(2))
    labels = visit["labels"]
    lesion_slices = 0
    for z in range(labels.shape[2]):
        if (subject.mask[:, :, z] > 0.5).sum() < 200:  # the top and bottom caps of the brain
            continue
        lesion_slices += int(labels[:, :, z].any())
        count = _normal_enhancing_pixels(visit["T1"][:, :, z], visit["T1C"][:, :, z], labels[:, :, z])
        assert count >= MIN_PIXELS, (z, count)
    assert lesion_slices > 5
    # without physiological enhancement, T1 is byte-identical and T1C differs only outside the lesion
    plain = dataclasses.replace(subject, enhancement=np.zeros_like(subject.enhancement))
    bare = brain_visit(plain, tumour, np.random.default_rng(2))
    assert np.array_equal(bare["T1"], visit["T1"]) and np.array_equal(bare["labels"], labels)
    changed = bare["T1C"] != visit["T1C"]
    assert changed.sum() > 2000
    assert not (changed & ndimage.binary_dilation(labels > 0, iterations=1)).any()


def test_enhancement_is_deterministic_and_bright(subject):
    again = brain_subject(np.random.default_rng(23))
    assert np.array_equal(again.enhancement, subject.enhancement)
    assert again.enhancement_level == subject.enhancement_level
    assert 0.75 <= subject.enhancement_level <= 0.95
    w = subject.enhancement
    assert w.dtype == np.float32 and w.min() >= 0.0 and w.max() <= 1.0
    assert not (w[subject.mask < 0.5] > 0).any()
    # the superior sagittal sinus and falx put enhancement on the midline of the upper slices
    upper = w[:, :, int(w.shape[2] * 0.7)]
    mid = w.shape[0] // 2
    assert (upper[mid - 3: mid + 4] > 0.5).sum() >= 3

