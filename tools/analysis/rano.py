"""RANO 2.0 response categories (Wen et al., J Clin Oncol 2023;41:5187-5199) from measurements over time.

On the enhancing tumour, bidimensionally (the sum of products of perpendicular diameters, SPD) or
volumetrically (the enhancing volume):

- CR: all enhancing disease gone (after a baseline with disease);
- PR: SPD at least 50 % below the baseline, or volume at least 65 % below it;
- PD: SPD at least 25 % above the nadir (the smallest value so far, baseline included), or volume at
  least 40 % above it, or a new measurable lesion;
- SD: neither.

What the images alone cannot give is said in the result, not guessed: RANO 2.0 asks for a second scan
at least 4 weeks later to confirm CR and PR (and, within 12 weeks of radiotherapy, to confirm PD),
and takes corticosteroid dose and clinical status into account.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RanoCategory = Literal["CR", "PR", "SD", "PD"]
#: (PR threshold vs baseline, PD threshold vs nadir), percent.
THRESHOLDS: dict[str, tuple[float, float]] = {"bidimensional": (-50.0, 25.0), "volumetric": (-65.0, 40.0)}


class RanoAssessment(BaseModel):
    """A RANO 2.0 category with the values and thresholds it rests on."""

    category: RanoCategory
    basis: Literal["bidimensional", "volumetric"]
    quantity: str = Field(description="What was followed, e.g. 'enhancing tumour volume'")
    unit: str
    baseline: float
    nadir: float
    last: float
    percent_from_baseline: float | None
    percent_from_nadir: float | None
    measurable_baseline: bool = Field(description="Baseline meets the measurable-disease limit")
    reason: str
    caveats: list[str] = Field(default_factory=list)


def _pct(new: float, old: float) -> float | None:
    return round(100.0 * (new - old) / old, 2) if old > 0 else None


def assess(values: list[float], basis: Literal["bidimensional", "volumetric"], quantity: str, unit: str,
           measurable_baseline: bool = True, new_lesion: bool = False) -> RanoAssessment:
    """The RANO 2.0 category of the last of ``values`` (oldest first)."""
    pr, pd = THRESHOLDS[basis]
    base, last, nadir = values[0], values[-1], min(values[:-1])
    from_base, from_nadir = _pct(last, base), _pct(last, nadir)
    category: RanoCategory
    if new_lesion:
        category, reason = "PD", "a new measurable lesion"
    elif from_nadir is not None and from_nadir >= pd or nadir == 0 and last > 0:
        category, reason = "PD", f"{quantity} {from_nadir if from_nadir is not None else 'new'}% from the nadir (>= +{pd:g}%)"
    elif last == 0 and base > 0:
        category, reason = "CR", f"no {quantity} left"
    elif measurable_baseline and from_base is not None and from_base <= pr:
        category, reason = "PR", f"{quantity} {from_base}% from baseline (<= {pr:g}%)"
    else:
        category, reason = "SD", f"{quantity} {from_base}% from baseline, {from_nadir}% from the nadir"
    caveats = ["RANO 2.0 also weighs corticosteroid dose and clinical status, which images do not show"]
    if category in ("CR", "PR"):
        caveats.insert(0, "needs confirmation on a scan at least 4 weeks later")
    if category == "PD":
        caveats.insert(0, "within 12 weeks of radiotherapy, needs confirmation (pseudoprogression)")
    if not measurable_baseline:
        caveats.insert(0, "the baseline has no measurable disease (10 x 10 mm): only CR, SD or PD apply")
    return RanoAssessment(category=category, basis=basis, quantity=quantity, unit=unit, baseline=base, nadir=nadir,
                          last=last, percent_from_baseline=from_base, percent_from_nadir=from_nadir,
                          measurable_baseline=measurable_baseline, reason=reason, caveats=caveats)
