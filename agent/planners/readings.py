"""What a planner reads out of tool results: lesion sizes and the change between two of them."""

from __future__ import annotations

import math

from mimir import vocabulary as voc
from mimir.agent.options import Change
from mimir.tools.analysis.geometry import is_enhancing_label
from mimir.tools.framework.capabilities import SegmentationReading

#: Size ratio (larger / smaller) under which two measurements count as stable, per unit. A stable
#: lesion's measurements differ by a few percent (about 3 % in area, 5 % in volume), while growth that
#: counts starts at +25 % of the bidimensional product in RANO (an area) and +40 % of the volume in
#: RANO 2.0; shrinkage by the same ratio counts as a decrease. Each limit lies halfway, on a log scale, between the two:
#: sqrt(1.03 * 1.25) = 1.135 for areas, sqrt(1.05 * 1.40) = 1.212 for volumes. Segmentation noise
#: of about 10 % on one slice therefore reads as stable, not as a change.
STABLE_RATIO = {"mm2": math.sqrt(1.03 * 1.25), "mL": math.sqrt(1.05 * 1.40)}


def lesion_size(reading: SegmentationReading, enhancing_only: bool = False) -> tuple[float, str]:
    """Whole-lesion size of a segmentation.

    That is the index lesion when the tool reports one (the largest connected lesion, as followed in
    RECIST/RANO), else the sum over every foreground label.

    Returns (value, unit) with unit ``mm2`` for 2D or ``mL`` for 3D; an empty mask is (0, unit).
    ``enhancing_only`` keeps the enhancing label (residual tumour after resection).
    """
    unit = "mL" if len(reading.shape) >= 3 else "mm2"
    if "index_lesion" in reading.model_fields_set:  # the target lesion; separate small foci are not added
        target = reading.index_lesion
        if target is None:
            return 0.0, unit
        return float(target.enhancing_size if enhancing_only else target.size), unit
    total = 0.0
    for m in reading.measurements:
        name = m.label.lower()
        if voc.is_background_label(name) or m.value == 0:
            continue
        if enhancing_only and not is_enhancing_label(name):
            continue
        total += float((m.volume_ml if unit == "mL" else m.area_mm2) or 0.0)
    return total, unit


def longest_diameter(reading: SegmentationReading) -> float:
    """The index lesion's longest diameter (mm), else the longest of any foreground label."""
    if reading.index_lesion is not None:
        return float(reading.index_lesion.longest_diameter_mm)
    return max((m.longest_diameter_mm for m in reading.measurements if m.value != 0), default=0.0)


def change_between(first: float, last: float, unit: str = "mm2") -> tuple[Change, float | None]:
    """Category and percent change from ``first`` to ``last`` (stable within ``STABLE_RATIO[unit]``)."""
    if first <= 0.0:
        return ("stable", 0.0) if last <= 0.0 else ("increase", None)
    pct = (last - first) / first * 100.0
    if last > 0.0 and max(last / first, first / last) < STABLE_RATIO[unit]:
        return "stable", pct
    return ("increase" if pct > 0 else "decrease"), pct
