"""Change between visits read from a segmenter's masks on demo patients, against the simulation's truth.

The planner answers a temporal or comparison item on radiographs from one size per film: the area of
the index lesion (the largest connected component of the mask, :func:`index_lesion`) and
:func:`change_between` on two of them. This runs a bundle on the PNG or DICOM films that
``mimir demo build`` writes for chest-radiograph patients of one seed and reads every consecutive
pair of visits, and the first and last visit, the same way; the truth is the change the simulation
planned and verified on its own labels (worsened, stable, improved).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from mimir.agent.planners.readings import change_between
from mimir.demo.render import BuildOptions, build_patient
from mimir.demo.truth import PatientTruth
from mimir.tools.analysis.geometry import index_lesion
from mimir.tools.experts.bundle import read_mask, run_bundle

#: The planner's change for each trajectory of the simulation.
EXPECTED = {"progressing": "increase", "stable": "stable", "improving": "decrease"}


class PairReading(BaseModel):
    """One pair of visits of one patient: sizes read from the masks, the change they give, the truth."""

    patient_id: str
    finding: str
    visits: tuple[int, int]
    true_mm2: tuple[float, float]
    read_px: tuple[float, float]
    expected: str
    read: str

    @property
    def right(self) -> bool:
        """True when the change read from the masks is the simulation's."""
        return self.read == self.expected


class ChangeReport(BaseModel):
    """Agreement of the change read from a bundle's masks with the truth, overall and per finding."""

    seed: int
    patients: int
    fmt: str
    agreement: float
    per_finding: dict[str, float] = Field(description="share of pairs read right, per finding")
    pairs: list[PairReading]


def _pairs(n: int) -> list[tuple[int, int]]:
    return sorted({*((i - 1, i) for i in range(1, n)), (0, n - 1)})


def _film_sizes(bundle: Path, truths: list[PatientTruth], root: Path, fmt: Literal["png", "dicom"],
                work: Path) -> dict[str, float]:
    """Index-lesion area (pixels of the mask) of every film, keyed by its path."""
    paths = [root / getattr(v.images[0], fmt) for p in truths for v in p.visits]
    run_bundle(bundle, paths, work)
    sizes = {}
    for path in paths:
        target = index_lesion(read_mask(work, path), (1.0, 1.0))
        sizes[str(path)] = 0.0 if target is None else float(target.size)
    return sizes


def chest_change_agreement(bundle: Path, seed: int, patients: int, fmt: Literal["png", "dicom"] = "png") -> ChangeReport:
    """Build ``patients`` chest patients of ``seed``, segment every film with ``bundle`` and score the changes."""
    with tempfile.TemporaryDirectory(prefix="mimir-change-") as tmp:
        root = Path(tmp)
        opts = BuildOptions(series=False, nifti=False, kinds=("cxr",))
        truths = [build_patient(seed, i, root / "demo", opts) for i in range(patients)]
        sizes = _film_sizes(bundle, truths, root / "demo", fmt, root / "masks")
    pairs = []
    for p in truths:
        size = [sizes[str(root / "demo" / getattr(v.images[0], fmt))] for v in p.visits]
        for a, b in _pairs(len(p.visits)):
            pairs.append(PairReading(patient_id=p.patient_id, finding=str(p.finding), visits=(a, b),
                                     true_mm2=(p.visits[a].finding_mm2 or 0.0, p.visits[b].finding_mm2 or 0.0),
                                     read_px=(size[a], size[b]), expected=EXPECTED[str(p.trajectory)],
                                     read=change_between(size[a], size[b])[0]))
    findings = sorted({q.finding for q in pairs})
    per = {f: sum(q.right for q in pairs if q.finding == f) / sum(q.finding == f for q in pairs) for f in findings}
    share = sum(q.right for q in pairs) / len(pairs) if pairs else float("nan")
    return ChangeReport(seed=seed, patients=patients, fmt=fmt, agreement=share, per_finding=per, pairs=pairs)
