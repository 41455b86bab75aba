"""Read the numbers and labels a planner needs out of compact tool results (plain dicts)."""

from __future__ import annotations

import math
import re
from typing import Any

from mimir.agent.options import Change
from mimir.domain import CaseImage
from mimir.tools.geometry import is_enhancing_label

#: Size ratio (larger / smaller) under which two measurements count as stable, per unit. A stable
#: lesion's measurements differ by a few percent (about 3 % in area, 5 % in volume), while growth that
#: counts starts at +25 % of the bidimensional product in RANO (an area) and +40 % of the volume in
#: RANO 2.0; shrinkage by the same ratio counts as a decrease. Each limit lies halfway, on a log scale, between the two:
#: sqrt(1.03 * 1.25) = 1.135 for areas, sqrt(1.05 * 1.40) = 1.212 for volumes. Segmentation noise
#: of about 10 % on one slice therefore reads as stable, not as a change.
STABLE_RATIO = {"mm2": math.sqrt(1.03 * 1.25), "mL": math.sqrt(1.05 * 1.40)}
#: Residual enhancing area (mm²) or volume (mL) at or below which a resection counts as gross-total.
RESIDUAL_MIN = {"mm2": 15.0, "mL": 0.05}


def lesion_size(result: dict[str, Any], enhancing_only: bool = False) -> tuple[float, str] | None:
    """Whole-lesion size of a ``segment`` result.

    That is the index lesion when the tool reports one (the largest connected lesion, as followed in
    RECIST/RANO), else the sum over every foreground label.

    Returns (value, unit) with unit ``mm2`` for 2D or ``mL`` for 3D; an empty mask is (0, unit).
    ``enhancing_only`` keeps the enhancing label (residual tumour after resection).
    """
    items = result.get("measurements")
    if not isinstance(items, list):
        return None
    dims = len(result.get("shape") or []) or 2
    unit = "mL" if dims >= 3 else "mm2"
    if "index_lesion" in result:  # the target lesion; separate small foci are not added to it
        target = result["index_lesion"]
        if target is None:
            return 0.0, unit
        return float(target["enhancing_size" if enhancing_only else "size"]), unit
    key = "volume_ml" if unit == "mL" else "area_mm2"
    total = 0.0
    for m in items:
        name = str(m.get("label", "")).lower()
        if name in ("background", "bg") or m.get("value") == 0:
            continue
        if enhancing_only and not is_enhancing_label(name):
            continue
        total += float(m.get(key) or 0.0)
    return total, unit


def classified_label(result: dict[str, Any]) -> str | None:
    """The label of a ``classify`` result."""
    label = result.get("label")
    if label is None:
        return None
    return {"left": "L", "right": "R"}.get(str(label).lower(), str(label))


def change_between(first: float, last: float, unit: str = "mm2") -> tuple[Change, float | None]:
    """Category and percent change from ``first`` to ``last`` (stable within ``STABLE_RATIO[unit]``)."""
    if first <= 0.0:
        return ("stable", 0.0) if last <= 0.0 else ("increase", None)
    pct = (last - first) / first * 100.0
    if last > 0.0 and max(last / first, first / last) < STABLE_RATIO[unit]:
        return "stable", pct
    return ("increase" if pct > 0 else "decrease"), pct


_SEQUENCES = (("T1C", r"t1\s*c|t1[-_ ]?(ce|gd|post|\+c)|post[-_ ]?contrast|contrast"), ("FLAIR", r"flair"),
              ("T2", r"t2"), ("T1", r"t1"))


def sequence_of(image: CaseImage) -> str | None:
    """The MR sequence named by an image's series description, if any."""
    text = (image.series_description or "").lower()
    for name, pattern in _SEQUENCES:
        if re.search(pattern, text):
            return name
    return None


def sequence_named(text: str) -> str | None:
    """The MR sequence a piece of question text asks about (FLAIR before T2, T1C before T1)."""
    t = text.lower()
    for name, pattern in (("FLAIR", r"flair"), ("T1C", r"t1\s*c\b|t1[-_ ]?(ce|gd)|post[-_ ]?contrast|contrast[- ]enhanced"),
                          ("T2", r"\bt2\b|t2[-_ ]weighted"), ("T1", r"\bt1\b|t1[-_ ]weighted")):
        if re.search(pattern, t):
            return name
    return None


def side_named(text: str) -> str | None:
    """'L' or 'R' when the text asks about the left or right eye/side."""
    t = text.lower()
    left, right = bool(re.search(r"\bleft\b|\bos\b", t)), bool(re.search(r"\bright\b|\bod\b", t))
    return "L" if left and not right else "R" if right and not left else None
