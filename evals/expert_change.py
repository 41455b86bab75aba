"""Change between visits read from a segmenter's masks on demo patients, against the simulation's truth.

The planner answers a temporal or comparison item on radiographs and mammograms from one size per
image: the area of the index lesion (the largest connected component of the mask, :func:`index_lesion`)
and :func:`change_between` on two of them. This runs a bundle on the PNG or DICOM files that
``mimir demo build`` writes for chest-radiograph or mammography patients of one seed and reads every
consecutive pair of visits, and the first and last visit, the same way.

- Chest radiographs: the truth is the change the simulation planned and verified on its own labels
  (worsened, stable, improved).
- Mammograms: every pair is read on each view (CC, MLO) of the breast with the lesion; the truth is
  the course the questions' gold comes from (:func:`mimir.demo.questions_mg.lesion_course` on the
  lesion's area in the two images), and pairs the questions never ask about (no lesion in either
  image, or a change that is not clear-cut) are left out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from mimir.agent.planners.readings import change_between
from mimir.demo.questions_mg import lesion_course
from mimir.demo.render import BuildOptions, build_patient
from mimir.demo.truth import ImageTruth, PatientTruth
from mimir.tools.analysis.geometry import index_lesion
from mimir.tools.experts.bundle import read_mask, run_bundle

#: The planner's change for each trajectory of the simulation.
EXPECTED = {"progressing": "increase", "stable": "stable", "improving": "decrease"}
#: The planner's change for each course of a breast lesion (the mammography questions' gold).
EXPECTED_COURSE = {"worse": "increase", "stable": "stable", "better": "decrease"}


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
    lesion_free_images: int = Field(default=0, description="mammograms: images without a lesion")
    false_positive_rate: float | None = Field(default=None, description="mammograms: share of them with a lesion read")


def _pairs(n: int) -> list[tuple[int, int]]:
    return sorted({*((i - 1, i) for i in range(1, n)), (0, n - 1)})


def _film_sizes(bundle: Path, images: list[ImageTruth], root: Path, fmt: Literal["png", "dicom"],
                work: Path) -> dict[str, float]:
    """Index-lesion area (pixels of the mask) of every image, keyed by its path."""
    paths = [root / getattr(im, fmt) for im in images]
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
        films = [v.images[0] for p in truths for v in p.visits]
        sizes = _film_sizes(bundle, films, root / "demo", fmt, root / "masks")
    pairs = []
    for p in truths:
        size = [sizes[str(root / "demo" / getattr(v.images[0], fmt))] for v in p.visits]
        for a, b in _pairs(len(p.visits)):
            pairs.append(PairReading(patient_id=p.patient_id, finding=str(p.finding), visits=(a, b),
                                     true_mm2=(p.visits[a].finding_mm2 or 0.0, p.visits[b].finding_mm2 or 0.0),
                                     read_px=(size[a], size[b]), expected=EXPECTED[str(p.trajectory)],
                                     read=change_between(size[a], size[b])[0]))
    return _report(seed, patients, fmt, pairs)


def _report(seed: int, patients: int, fmt: str, pairs: list[PairReading], lesion_free_images: int = 0,
            false_positive_rate: float | None = None) -> ChangeReport:
    findings = sorted({q.finding for q in pairs})
    per = {f: sum(q.right for q in pairs if q.finding == f) / sum(q.finding == f for q in pairs) for f in findings}
    share = sum(q.right for q in pairs) / len(pairs) if pairs else float("nan")
    return ChangeReport(seed=seed, patients=patients, fmt=fmt, agreement=share, per_finding=per, pairs=pairs,
                        lesion_free_images=lesion_free_images, false_positive_rate=false_positive_rate)


def _lesion_series(p: PatientTruth) -> dict[str, list[ImageTruth]]:
    """Per view, the images of the lesion's breast in visit order (empty for a patient without a lesion)."""
    if p.finding_side is None:
        return {}
    return {view: [im for v in p.visits for im in v.images if im.laterality == p.finding_side and im.view == view]
            for view in ("CC", "MLO")}


def mammo_change_agreement(bundle: Path, seed: int, patients: int, fmt: Literal["png", "dicom"] = "png") -> ChangeReport:
    """Build ``patients`` mammography patients of ``seed``, segment every image with ``bundle`` and score the changes.

    Also counts the images without a lesion (the other breast, visits before a lesion appears, patients
    without one) on which the bundle finds one (``lesion_free_images``, ``false_positive_rate``).
    """
    with tempfile.TemporaryDirectory(prefix="mimir-change-") as tmp:
        root = Path(tmp)
        opts = BuildOptions(series=False, nifti=False, kinds=("mg",))
        truths = [build_patient(seed, i, root / "demo", opts) for i in range(patients)]
        images = [im for p in truths for v in p.visits for im in v.images]
        sizes = {Path(k).relative_to(root / "demo").as_posix(): a
                 for k, a in _film_sizes(bundle, images, root / "demo", fmt, root / "masks").items()}
    pairs = []
    for p in truths:
        for view, series in _lesion_series(p).items():
            for a, b in _pairs(len(series)):
                course = lesion_course(series[a].finding_mm2, series[b].finding_mm2)
                if course is None:
                    continue
                read = (sizes[getattr(series[a], fmt)], sizes[getattr(series[b], fmt)])
                pairs.append(PairReading(patient_id=p.patient_id, finding=f"{p.finding} {view}", visits=(a, b),
                                         true_mm2=(series[a].finding_mm2, series[b].finding_mm2), read_px=read,
                                         expected=EXPECTED_COURSE[course], read=change_between(*read)[0]))
    clear = [sizes[getattr(im, fmt)] for im in images if im.finding_mm2 == 0]
    fp = sum(s > 0 for s in clear) / len(clear) if clear else float("nan")
    return _report(seed, patients, fmt, pairs, lesion_free_images=len(clear), false_positive_rate=fp)
