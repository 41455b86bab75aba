"""The ``compare`` tool: change of a measurement over timepoints, with response categories.

- RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247) on the sum of longest diameters:
  CR = disappearance (sum 0); PR = at least 30 % decrease from baseline; PD = at least 20 % increase
  from the nadir (smallest sum so far, baseline included) AND at least 5 mm absolute; else SD.
- Volumetric category, our choice: the volume changes of a sphere whose diameter crosses the RECIST
  thresholds, i.e. PR = at least 65 % volume decrease from baseline (0.7³ = 0.343), PD = at least
  73 % increase from the nadir (1.2³ = 1.728); CR = volume 0; else SD.
- Resection extent = (pre - post) / pre of the enhancing volume: gross-total = no residual
  (100 %), near-total >= 95 %, subtotal >= 80 %, partial < 80 %; plus the RANO resect class of the
  residual (Karschnia et al., Neuro-Oncology 2023): 2A 0 mL, 2B <= 1 mL, 3A <= 5 mL, 3B > 5 mL.
- Per label (enhancing tumour, necrotic core, oedema, resection cavity): volume per timepoint, change
  in mL and percent, nadir.
- RANO 2.0 (``rano``): see :mod:`mimir.tools.analysis.rano`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, model_validator

from mimir.tools.analysis.geometry import is_enhancing_label
from mimir.tools.analysis.rano import RanoAssessment, assess
from mimir.tools.framework.capabilities import compares_over_time
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.runner import FindingSpec

if TYPE_CHECKING:
    from mimir.tools.framework.registry import Registry

Category = Literal["CR", "PR", "SD", "PD"]
RECIST_PR, RECIST_PD, RECIST_PD_MM = -30.0, 20.0, 5.0
VOLUME_PR, VOLUME_PD = -65.0, 73.0


class Timepoint(BaseModel):
    """One timepoint's measurement, oldest first."""

    timepoint: str = Field(description="Date or label of the timepoint, e.g. '2024-03-01' or 'baseline'")
    image_index: int | None = Field(default=None, description="Case image the value was measured on")
    sum_diameters_mm: float | None = Field(default=None, ge=0, description="Sum of longest diameters (mm)")
    volume_ml: float | None = Field(default=None, ge=0, description="Lesion (or enhancing) volume (mL)")
    label_volumes_ml: dict[str, float] | None = Field(
        default=None, description="Volume of each label (mL), e.g. {'enhancing tumour': 4.1, 'necrotic core': 1.2}"
    )
    sum_products_mm2: float | None = Field(
        default=None, ge=0, description="Sum of products of perpendicular diameters of the enhancing lesions (mm²)"
    )
    measurable: bool | None = Field(default=None, description="Measurable disease (10 x 10 mm) at this timepoint")
    new_lesion: bool = Field(default=False, description="A new measurable lesion appeared at this timepoint")


class CompareArgs(BaseModel):
    """Arguments of ``compare``."""

    label: str = Field(default="lesion", description="What was measured, e.g. 'tumor'")
    timepoints: list[Timepoint] = Field(min_length=2, description="Two or more timepoints, oldest first")
    resection: bool = Field(default=False, description="True when the first is pre-op and the last post-op")
    rano: bool = Field(default=False, description="Also give the RANO 2.0 response category (brain tumours)")

    @model_validator(mode="after")
    def _has_values(self) -> CompareArgs:
        for field in ("sum_diameters_mm", "volume_ml"):
            given = [getattr(t, field) is not None for t in self.timepoints]
            if any(given) and not all(given):
                raise ValueError(f"{field} must be given for every timepoint or none")
        if not any(t.sum_diameters_mm is not None or t.volume_ml is not None or t.label_volumes_ml is not None
                   or t.sum_products_mm2 is not None for t in self.timepoints):
            raise ValueError("each timepoint needs sum_diameters_mm, volume_ml, label_volumes_ml or sum_products_mm2")
        if self.resection and self.timepoints[0].volume_ml is None:
            raise ValueError("resection extent needs volume_ml at each timepoint")
        return self


class Change(BaseModel):
    """Change of one quantity from baseline to the last timepoint."""

    quantity: str
    unit: str
    baseline: float
    nadir: float
    last: float
    absolute_change: float
    percent_change: float | None = Field(description="vs baseline; None when the baseline is 0")
    percent_from_nadir: float | None
    category: Category


class CompareResult(BaseModel):
    """Changes, response categories and (for resections) the extent of resection."""

    label: str
    changes: list[Change]
    resection_extent_pct: float | None = None
    resection_category: Literal["gross-total", "near-total", "subtotal", "partial"] | None = None
    rano_resect_class: Literal["2A", "2B", "3A", "3B"] | None = None
    per_label: list[Change] = Field(default_factory=list, description="Volume change of each label (mL)")
    disease: list[str | None] = Field(
        default_factory=list,
        description="Per timepoint: 'no lesion', 'no measurable disease' (only lesions under 10 x 10 mm) or "
                    "'measurable disease'; None where neither the measurability nor a zero size was given",
    )
    rano: RanoAssessment | None = Field(default=None, description="RANO 2.0 category, when asked")
    standard: str
    findings: list[FindingSpec] = Field(default_factory=list)


def _pct(new: float, old: float) -> float | None:
    return round(100.0 * (new - old) / old, 2) if old > 0 else None


def categorize(values: list[float], pr: float, pd: float, pd_abs: float = 0.0) -> Category:
    """CR/PR/SD/PD of the last value against the baseline (PR) and the nadir (PD)."""
    base, last, nadir = values[0], values[-1], min(values[:-1])
    if last == 0 and base > 0:
        return "CR"
    up = _pct(last, nadir)
    if (up is not None and up >= pd or nadir == 0 and last > 0) and last - nadir >= pd_abs:
        return "PD"
    down = _pct(last, base)
    return "PR" if down is not None and down <= pr else "SD"


def change(quantity: str, unit: str, values: list[float], category: Category) -> Change:
    """Absolute and percent change of ``values`` from baseline and nadir."""
    nadir = min(values[:-1])
    return Change(
        quantity=quantity, unit=unit, baseline=values[0], nadir=nadir, last=values[-1],
        absolute_change=round(values[-1] - values[0], 4), percent_change=_pct(values[-1], values[0]),
        percent_from_nadir=_pct(values[-1], nadir), category=category,
    )


def resection(pre: float, post: float) -> tuple[float | None, str | None, str]:
    """(extent %, category, RANO resect class) from pre- and post-operative enhancing volumes."""
    rano = "2A" if post == 0 else "2B" if post <= 1 else "3A" if post <= 5 else "3B"
    if pre <= 0:
        return None, None, rano
    extent = round(100.0 * (pre - post) / pre, 2)
    cat = "gross-total" if post == 0 else "near-total" if extent >= 95 else "subtotal" if extent >= 80 else "partial"
    return extent, cat, rano


def label_changes(tps: list[Timepoint]) -> list[Change]:
    """Volume change of every label named at any timepoint (a label missing at a timepoint is 0 mL there)."""
    if not any(t.label_volumes_ml for t in tps):
        return []
    names = sorted({k for t in tps for k in (t.label_volumes_ml or {})})
    out = []
    for name in names:
        v = [float((t.label_volumes_ml or {}).get(name, 0.0)) for t in tps]
        out.append(change(name, "mL", v, categorize(v, VOLUME_PR, VOLUME_PD)))
    return out


def rano_of(tps: list[Timepoint]) -> RanoAssessment | None:
    """RANO 2.0 on the enhancing volume (else the whole volume), else on the sum of products of diameters."""
    measurable = tps[0].measurable is not False
    new = tps[-1].new_lesion
    enhancing = [[v for k, v in (t.label_volumes_ml or {}).items() if is_enhancing_label(k)] for t in tps]
    if all(t.label_volumes_ml is not None for t in tps):
        values = [float(sum(e)) for e in enhancing]
        return assess(values, "volumetric", "enhancing tumour volume", "mL", measurable, new)
    if all(t.volume_ml is not None for t in tps):
        values = [float(t.volume_ml or 0.0) for t in tps]
        return assess(values, "volumetric", "lesion volume", "mL", measurable, new)
    if all(t.sum_products_mm2 is not None for t in tps):
        values = [float(t.sum_products_mm2 or 0.0) for t in tps]
        return assess(values, "bidimensional", "sum of products of diameters", "mm2", measurable, new)
    return None


def disease_of(t: Timepoint) -> str | None:
    """'no lesion' (size 0), 'no measurable disease' or 'measurable disease' at one timepoint, if known."""
    sizes = [t.volume_ml, t.sum_diameters_mm, t.sum_products_mm2]
    if t.label_volumes_ml is not None:
        sizes.append(sum(t.label_volumes_ml.values()))
    if any(v is not None for v in sizes) and all(not v for v in sizes):
        return "no lesion"
    if t.measurable is None:
        return None
    return "measurable disease" if t.measurable else "no measurable disease"


def compare(args: CompareArgs, ctx: ToolContext) -> CompareResult:
    """Compare a measurement over two or more timepoints (oldest first).

    Gives absolute and percent change and the nadir, RECIST 1.1 category on the sum of longest
    diameters, a volumetric category, the change of each label's volume (enhancing tumour, necrotic
    core, oedema, cavity), the RANO 2.0 category when asked (``rano``), and for a resection (first
    pre-op, last post-op) the extent of resection of the enhancing volume.
    """
    changes: list[Change] = []
    tps = args.timepoints
    if tps[0].sum_diameters_mm is not None:
        d = [float(t.sum_diameters_mm or 0.0) for t in tps]
        changes.append(change("sum_diameters", "mm", d, categorize(d, RECIST_PR, RECIST_PD, RECIST_PD_MM)))
    if tps[0].volume_ml is not None:
        v = [float(t.volume_ml or 0.0) for t in tps]
        changes.append(change("volume", "mL", v, categorize(v, VOLUME_PR, VOLUME_PD)))
    extent = cat = rano = None
    if args.resection:
        extent, cat, rano = resection(float(tps[0].volume_ml or 0), float(tps[-1].volume_ml or 0))
    per_label = label_changes(tps)
    response = rano_of(tps) if args.rano else None
    images = [t.image_index for t in tps if t.image_index is not None]
    findings = [FindingSpec(label=f"{args.label} {c.quantity} change", value=c.percent_change, unit="%",
                            location=c.category, image_indices=images) for c in changes]
    findings += [FindingSpec(label=f"{c.quantity} volume change", value=c.absolute_change, unit="mL",
                             location=c.quantity, image_indices=images) for c in per_label]
    if extent is not None:
        findings.append(FindingSpec(label=f"{args.label} extent of resection", value=extent, unit="%",
                                    location=cat, image_indices=images))
    if response is not None:
        findings.append(FindingSpec(label=f"{args.label} RANO 2.0 response", value=response.percent_from_baseline,
                                    unit="%", location=response.category, image_indices=images))
    return CompareResult(
        label=args.label, changes=changes, resection_extent_pct=extent, resection_category=cat,
        rano_resect_class=rano, per_label=per_label, rano=response,
        disease=[disease_of(t) for t in tps],
        standard="RECIST 1.1 (Eisenhauer 2009); volume: sphere-equivalent -65 %/+73 %; RANO resect 2023"
                 + ("; RANO 2.0 (Wen 2023)" if args.rano else ""),
        findings=findings,
    )


def register(registry: Registry) -> None:
    """Add ``compare`` to ``registry``."""
    registry.tool(compare, version="2", tags=("measurement", "temporal"), capabilities=(compares_over_time(),))
