"""The resection figures read residual tumour as the planner does: the index lesion's enhancing area."""

from __future__ import annotations

import numpy as np

from mimir.tools.experts.evaluate_resection import _score, residual_mm2


def _lesion(rim: bool) -> np.ndarray:
    """A 256 x 256 label slice: a cavity (label 1) with, optionally, a 3-pixel enhancing crescent on its right."""
    label = np.zeros((256, 256), dtype=np.uint8)
    label[100:140, 100:140] = 1
    if rim:
        label[105:135, 140:143] = 2
    return label


def test_residual_is_the_enhancing_part_of_the_index_lesion() -> None:
    mask = _lesion(rim=True)
    mask[10:14, 10:14] = 2  # a separate small enhancing focus is not the resected lesion
    assert residual_mm2(mask) == 90.0
    assert residual_mm2(np.zeros((256, 256), dtype=np.uint8)) == 0.0


def test_a_missed_rim_and_a_gross_total_resection_read_partial_are_counted() -> None:
    image = np.zeros((256, 256), dtype=np.float32)
    samples = [(image, _lesion(rim=True)), (image, _lesion(rim=True)), (image, _lesion(rim=False))]
    found_rim, missed_rim = _lesion(rim=True), _lesion(rim=False)
    spurious = _lesion(rim=False)
    spurious[100:120, 98:100] = 2  # 40 mm² of enhancement after a gross-total resection
    metrics = _score(samples, [found_rim, missed_rim, spurious])
    assert metrics["rims"] == 2 and metrics["rim_miss_rate"] == 0.5
    assert metrics["gross_total"] == 1 and metrics["gross_total_read_partial_rate"] == 1.0
    assert metrics["rim_found_ratio"] == 0.5 and metrics["thin_rims"] == 0
