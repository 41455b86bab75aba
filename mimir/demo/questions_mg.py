"""Mammography questions in the style of EMBED's items (Med-MIM), from the simulation only.

Temporal items give the patient's age at each mammogram, as EMBED's do, and ask how the findings
changed; comparison asks which mammogram shows the larger lesion and how its size changed;
co-reference asks which image is the CC (or MLO) view, which is a given side and view ("the right
MLO", "the CC view of the left breast"), or which most likely shows signs of malignancy; reasoning
asks for the BI-RADS-style category of a breast's CC and MLO views. Items compare images of one
breast and view unless they say otherwise. Pairs where neither image shows a lesion are not asked
about change: there is nothing to follow.
"""

from __future__ import annotations

import numpy as np

from mimir.demo.plan_xr import BIRADS
from mimir.demo.qformat import QItem, closed_item, ordinal_options, pick
from mimir.demo.truth import ImageTruth, PatientTruth, VisitTruth

_CHANGE_TEXT = {"worse": "The findings have worsened", "stable": "The findings have remained stable",
                "better": "The findings have improved"}
_LESION = {"mass": "mass", "calcification": "calcification cluster"}
_SIDE = {"L": "left", "R": "right"}
_VIEW = {"CC": "craniocaudal (CC)", "MLO": "mediolateral oblique (MLO)"}


def _image(visit: VisitTruth, side: str, view: str) -> ImageTruth:
    return next(im for im in visit.images if im.laterality == side and im.view == view)


def _ages(visits: list[VisitTruth]) -> str:
    ages = [f"{v.age_years:.1f}" for v in visits]
    return ages[0] if len(ages) == 1 else ", ".join(ages[:-1]) + f" and {ages[-1]}"


def lesion_course(a: float, b: float) -> str | None:
    """Worse / stable / better between two lesion areas (mm2), None when there is nothing or it is unclear."""
    if a == b == 0:
        return None
    if a == 0:
        return "worse"
    ratio = b / a
    return "worse" if ratio >= 1.45 else "better" if ratio <= 0.69 else "stable" if abs(ratio - 1) <= 0.06 else None


def temporal(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """How findings changed between the mammograms at two or three ages (one breast, one view)."""
    if p.finding_side is None:
        return []
    items = []
    for start in range(0, len(p.visits) - 1, 2):
        visits = p.visits[start : start + (3 if rng.random() < 0.4 and start + 3 <= len(p.visits) else 2)]
        view = pick(rng, ["CC", "MLO"])
        imgs = [_image(v, p.finding_side, view) for v in visits]
        course = lesion_course(imgs[0].finding_mm2, imgs[-1].finding_mm2)
        steps = [lesion_course(a.finding_mm2, b.finding_mm2) for a, b in zip(imgs, imgs[1:], strict=False)]
        if course is None or any(s not in (course, "stable") for s in steps) or (course != "stable" and "stable" in steps):
            continue
        q = pick(rng, [f"Reflecting on the mammograms taken at ages {_ages(visits)}, how have the findings changed?",
                       f"Comparing the images from ages {_ages(visits)}, what best describes the course of the findings?"])
        items.append(closed_item(rng, "temporal", q, imgs, _CHANGE_TEXT[course],
                                 [t for k, t in _CHANGE_TEXT.items() if k != course], p.patient_id))
    return items


def comparison(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """Per consecutive pair with a lesion: which shows the larger lesion, larger/smaller/same, an open description."""
    if p.finding_side is None or p.finding is None:
        return []
    items: list[QItem] = []
    lesion = _LESION[p.finding]
    for a, b in zip(p.visits, p.visits[1:], strict=False):
        view = pick(rng, ["CC", "MLO"])
        imgs = [_image(a, p.finding_side, view), _image(b, p.finding_side, view)]
        course = lesion_course(imgs[0].finding_mm2, imgs[1].finding_mm2)
        if course is None:
            continue
        ages = f"(ages {a.age_years:.1f} and {b.age_years:.1f})"
        if course != "stable":
            first, second = ordinal_options(rng, 2)
            larger = second if course == "worse" else first
            q = f"Which of the two mammograms {ages} shows the larger {lesion}?"
            items.append(closed_item(rng, "comparison", q, imgs, larger, [first if larger == second else second], p.patient_id))
        if imgs[0].finding_mm2 > 0:
            words = {"worse": "larger", "stable": "about the same size", "better": "smaller"}
            q = f"Compared with the earlier mammogram {ages}, is the {lesion} on the later one larger, smaller or about the same size?"
            items.append(closed_item(rng, "comparison", q, imgs, words[course],
                                     [w for k, w in words.items() if k != course], p.patient_id))
        gold = (f"The {lesion} measures about {imgs[0].finding_mm2:.0f} mm2 on the first mammogram and "
                f"{imgs[1].finding_mm2:.0f} mm2 on the second.")
        items.append(QItem("comparison", f"How does the {lesion} on the second mammogram compare with the first?", imgs, gold,
                           patient_id=p.patient_id))
    return items


def _view_items(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    visit = p.visits[int(rng.integers(len(p.visits)))]
    items = []
    target = pick(rng, ["CC", "MLO"])
    n = 2 + int(rng.integers(2))
    same = [im for im in visit.images if im.view == target]
    others = [im for im in visit.images if im.view != target]
    chosen = [same[int(rng.integers(len(same)))]] + [others[i] for i in rng.permutation(len(others))[: n - 1]]
    order = list(rng.permutation(n))
    imgs = [chosen[i] for i in order]
    names = ordinal_options(rng, n)
    q = pick(rng, [f"Identify the breast image in the {target} view.", f"Which of these mammograms is the {_VIEW[target]} view?"])
    items.append(QItem("coreference", q, imgs, names[order.index(0)], list(names), patient_id=p.patient_id))
    n = 3
    imgs = [visit.images[i] for i in rng.permutation(len(visit.images))[:n]]
    target_im = imgs[int(rng.integers(n))]
    side, view = _SIDE[str(target_im.laterality)], str(target_im.view)
    names = ordinal_options(rng, n)
    q = pick(rng, [f"Which image is the {side} {view}?", f"Which of these images is the {view} view of the {side} breast?"])
    items.append(QItem("coreference", q, imgs, names[imgs.index(target_im)], list(names), patient_id=p.patient_id))
    return items


def _suspicious_items(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """One image with a suspicious lesion among images of the same view without any lesion."""
    if p.morphology != "suspicious" or p.finding_side is None:
        return []
    v = next(v for v in p.visits if v.finding_mm2 > 0)
    view = pick(rng, ["CC", "MLO"])
    other_side = "L" if p.finding_side == "R" else "R"
    imgs = [_image(v, p.finding_side, view), _image(v, other_side, view)]
    clear = [w for w in p.visits if w.finding_mm2 == 0 and w.study_date < v.study_date]
    if clear and rng.random() < 0.5:
        imgs.append(_image(clear[-1], p.finding_side, view))
    order = list(rng.permutation(len(imgs)))
    shown = [imgs[i] for i in order]
    names = ordinal_options(rng, len(imgs))
    q = pick(rng, ["Which of these mammograms most likely shows signs of breast cancer?",
                   "Evaluate these mammograms and choose the one that most likely depicts a suspicious lesion."])
    return [QItem("coreference", q, shown, names[order.index(0)], list(names), patient_id=p.patient_id)]


def coreference(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """Which image is a view, a side and view, or the one with a suspicious finding."""
    return _view_items(rng, p) + _suspicious_items(rng, p)


def reasoning(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """The BI-RADS-style category of one breast's CC and MLO views at one visit (7 options, EMBED style)."""
    visit = p.visits[int(rng.integers(len(p.visits)))]
    side = p.finding_side or pick(rng, ["L", "R"])
    imgs = [_image(visit, side, "CC"), _image(visit, side, "MLO")]
    category = int(visit.birads or 1)  # the lesion's breast decides the exam's category
    options = [f"BI-RADS {k}: {text}" for k, text in BIRADS.items()]
    correct = options[category]
    q = pick(rng, ["Based on the craniocaudal and mediolateral oblique mammograms, how would you categorize the findings?",
                   "What BI-RADS assessment category fits these mammography images?"])
    others = [o for o in options if o != correct]
    rng.shuffle(others)
    gold_open = f"BI-RADS {category}: {BIRADS[category]}"
    return [closed_item(rng, "reasoning", q, imgs, correct, others, p.patient_id),
            QItem("reasoning", "What is the BI-RADS assessment category of these two views?", imgs, gold_open,
                  patient_id=p.patient_id)]
