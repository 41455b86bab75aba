"""Reasoning questions: a conclusion that needs several images (response category, both eyes)."""

from __future__ import annotations

import numpy as np

from mimir.demo.qformat import QItem, closed_item, pick
from mimir.demo.truth import PatientTruth

_RESPONSE = {"progressing": "progressive disease", "stable": "stable disease", "improving": "partial response"}
_RESPONSE_DISTRACTORS = ("complete response",)
_RESPONSE_STEMS = (
    "Based on this series of follow-up brain MRI scans in chronological order, what is the overall response category?",
    "Considering all the follow-up scans shown, in order, how would you categorise the tumour's response?",
    "Review the serial post-contrast MRI scans (earliest first) and select the response category.",
)
_EYE_STEMS = ("What are the diagnoses for the first and second fundus images?",
              "Select the diagnoses of the first and second fundus photographs.")


def _patient_level(eyes: dict[str, str]) -> str:
    left, right = eyes["L"], eyes["R"]
    if left == right == "normal":
        return "no retinal disease in either eye"
    if left == right:
        return f"bilateral {left}"
    disease = left if left != "normal" else right
    return f"{disease} in one eye only"


def _fundus(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    left, right = p.visits[0].images  # written left eye first, as in ODIR
    first, second = left.diagnosis or "", right.diagnosis or ""
    pool = ["normal fundus" if d == "normal" else d for d in ("normal", "diabetic retinopathy", "AMD")]
    name = {"normal": "normal fundus"}
    correct = f"First: {name.get(first, first)}, Second: {name.get(second, second)}"
    distractors: list[str] = []
    while len(distractors) < 3:
        cand = f"First: {pick(rng, pool)}, Second: {pick(rng, pool)}"
        if cand != correct and cand not in distractors:
            distractors.append(cand)
    items = [closed_item(rng, "reasoning", pick(rng, _EYE_STEMS), [left, right], correct, distractors, p.patient_id)]
    level = _patient_level(p.eye_diagnoses)
    levels = ["no retinal disease in either eye", "bilateral diabetic retinopathy", "diabetic retinopathy in one eye only",
              "bilateral AMD", "AMD in one eye only"]
    others = [x for x in levels if x != level]
    rng.shuffle(others)
    q = "Taking both eyes of this patient into account, which conclusion fits?"
    items.append(closed_item(rng, "reasoning", q, [left, right], level, others[:3], p.patient_id))
    same = first == second
    gold = (f"Yes, both images are diagnosed with {name.get(first, first)}." if same else
            f"No, the first image is diagnosed with {name.get(first, first)}, while the second image is diagnosed with {name.get(second, second)}.")
    items.append(QItem("reasoning", "Are the diagnoses for the first and second images the same?", [left, right], gold,
                       patient_id=p.patient_id))
    return items


def _response(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    if p.trajectory not in _RESPONSE:
        return []
    visits = p.visits[:3]
    imgs = [next(im for im in v.images if im.sequence in ("T1C", "CT")) for v in visits]
    correct = _RESPONSE[p.trajectory]
    others = [r for r in _RESPONSE.values() if r != correct] + list(_RESPONSE_DISTRACTORS)
    stem = pick(rng, _RESPONSE_STEMS)
    if p.kind == "ct":
        stem = "Based on these serial head CT scans in chronological order, what is the course of the haemorrhage?"
        course = {"progressing": "haematoma expansion", "stable": "stable haematoma", "improving": "resolving haematoma"}
        return [closed_item(rng, "reasoning", stem, imgs, course[p.trajectory],
                            [c for k, c in course.items() if k != p.trajectory], p.patient_id)]
    items = [closed_item(rng, "reasoning", stem, imgs, correct, others, p.patient_id)]
    order = list(rng.permutation(len(imgs)))
    q = "These follow-up scans are shown in random order. Using their study dates, what is the overall response category?"
    items.append(closed_item(rng, "reasoning", q, [imgs[i] for i in order], correct, others, p.patient_id, variants=("dicom",)))
    return items


def reasoning(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """Response category over visits (MRI, CT course) and diagnoses needing both eyes (fundus)."""
    if p.kind == "fundus":
        return _fundus(rng, p)
    if p.kind == "mg":
        from mimir.demo.questions_mg import reasoning as mammography

        return mammography(rng, p)
    if p.kind == "cxr":
        return []  # MS-CXR-T has no reasoning items; chest change is asked in comparison and temporal
    return _response(rng, p)
