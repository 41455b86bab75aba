"""Demo questions for the four Med-MIM abilities, with answers taken from the simulation only.

Items shared by both key-slice variants show images in visit order (as Med-MIM does). Items that need
dates (which scan is most recent; change from earliest to latest of shuffled scans) exist only in the
``dicom`` variant, whose images carry StudyDate in their headers. The temporal and comparison items
of the ``dicom`` variant are asked again on the visits' NIfTI volumes and DICOM series
(:data:`mimir.demo.qformat.VOLUME_VARIANTS`).
"""

from __future__ import annotations

import numpy as np

from mimir.demo import questions_cxr, questions_mg
from mimir.demo.qformat import CHANGE_WORDS, RESECTION_WORDS, QItem, closed_item, ordinal_options, pick
from mimir.demo.truth import ImageTruth, PatientTruth, VisitTruth

_CHANGES = ("progressing", "stable", "improving")
_TEMPORAL_STEMS = (
    "When comparing the second image to the first one, what can be inferred about the brain tumor: {a} or {b}?",
    "Compared with the initial image, how would you assess the brain tumor status in the second image: {a} or {b}?",
    "Looking at the second image versus the first, what can be inferred about the brain tumor: {a} or {b}?",
    "In relation to the first image, what can be said about the brain tumor in the second image: {a} or {b}?",
)
_RESECTION_STEMS = (
    "The first MRI image shows the enhancing tumor before surgery, and the second shows it afterwards. To what degree has the enhancing tumor been resected?",
    "The first picture is the MRI before surgery, and the second is after. What is the extent of the enhancing tumor resection shown in these images?",
    "The first image is the brain MRI before treatment, and the second is after treatment. How would you evaluate the enhancing tumor's resection?",
)
_SEQ_NAMES = {"T1": "T1-weighted pre-contrast MRI", "T1C": "T1-weighted post-contrast MRI", "T2": "T2-weighted MRI",
              "FLAIR": "fluid-attenuated inversion recovery (FLAIR) MRI"}
_SEQ_STEMS = ("Which of these brain scans shows a {s} image?", "Select the brain scan image that is obtained from {s}.",
              "Evaluate the images of brain and determine which one is a {s} scan.")


def _key(visit: VisitTruth, sequence: str = "T1C") -> ImageTruth:
    seq = "CT" if visit.images[0].sequence == "CT" else sequence
    return next(im for im in visit.images if im.sequence == seq)


def _change_pair(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    out = []
    for a, b in zip(p.visits, p.visits[1:], strict=False):
        change = b.change_from_previous
        if change not in _CHANGES:
            continue
        imgs = [_key(a), _key(b)]
        if p.kind == "ct":
            words = {"progressing": "expanded", "stable": "unchanged in size", "improving": "smaller (resolving)"}
            q = "Compared with the first head CT, how has the hyperdense haemorrhage changed on the second?"
            out.append(closed_item(rng, "temporal", q, imgs, words[change], [words[c] for c in _CHANGES if c != change], p.patient_id))
            continue
        correct = pick(rng, CHANGE_WORDS[change])
        other = pick(rng, CHANGE_WORDS[pick(rng, [c for c in _CHANGES if c != change])])
        opts = [correct, other]
        rng.shuffle(opts)
        stem = pick(rng, _TEMPORAL_STEMS).format(a=opts[0], b=opts[1])
        out.append(closed_item(rng, "temporal", stem, imgs, correct, [other], p.patient_id))
    return out


def temporal(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """Change between consecutive visits; over three visits; from shuffled, dated scans (dicom only)."""
    if p.kind in ("cxr", "mg"):
        return (questions_cxr if p.kind == "cxr" else questions_mg).temporal(rng, p)
    if p.kind not in ("mri", "ct"):
        return []
    items = _change_pair(rng, p)
    monotone = p.trajectory in _CHANGES
    organ = "haemorrhage" if p.kind == "ct" else "brain tumor"
    if monotone and len(p.visits) >= 3:
        imgs = [_key(v) for v in p.visits[:3]]
        q = f"These three scans are in chronological order. How has the {organ} evolved across them?"
        items.append(closed_item(rng, "temporal", q, imgs, p.trajectory, [c for c in _CHANGES if c != p.trajectory], p.patient_id))
    if monotone:
        chosen = [p.visits[0], p.visits[-1]] if len(p.visits) == 2 else list(p.visits[:3])
        order = rng.permutation(len(chosen))
        imgs = [_key(chosen[i]) for i in order]
        q = f"These scans are not shown in chronological order. Using their study dates, how has the {organ} changed from the earliest to the latest scan?"
        items.append(closed_item(rng, "temporal", q, imgs, p.trajectory, [c for c in _CHANGES if c != p.trajectory],
                                 p.patient_id, variants=("dicom",)))
        a, b = p.visits[0], p.visits[1]
        gold = (f"The {organ} is {p.trajectory}: its volume goes from {a.whole_ml:.1f} mL on the first scan "
                f"to {b.whole_ml:.1f} mL on the second.")
        items.append(QItem("temporal", f"Describe how the {organ} changes from the first image to the second.",
                           [_key(a), _key(b)], gold, patient_id=p.patient_id))
    return items


def comparison(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """Larger lesion of two visits; resection extent; larger/smaller/same size; an open description."""
    if p.kind in ("cxr", "mg"):
        return (questions_cxr if p.kind == "cxr" else questions_mg).comparison(rng, p)
    if p.kind not in ("mri", "ct"):
        return []
    items: list[QItem] = []
    lesion = "haemorrhage" if p.kind == "ct" else "lesion"
    for a, b in zip(p.visits, p.visits[1:], strict=False):
        imgs = [_key(a), _key(b)]
        change = b.change_from_previous
        if change in ("gross-total resection", "partial resection"):
            correct = pick(rng, RESECTION_WORDS[change])
            other = pick(rng, RESECTION_WORDS[next(k for k in RESECTION_WORDS if k != change)])
            items.append(closed_item(rng, "comparison", pick(rng, _RESECTION_STEMS), imgs, correct, [other], p.patient_id))
            continue
        if change in ("progressing", "improving"):
            first, second = ordinal_options(rng, 2)
            correct = second if change == "progressing" else first
            q = f"Which of the two scans shows the larger {lesion}?"
            items.append(closed_item(rng, "comparison", q, imgs, correct, [first if correct == second else second], p.patient_id))
        if change in _CHANGES:
            words = {"progressing": "larger", "stable": "about the same size", "improving": "smaller"}
            q = f"Compared with the first scan, is the {lesion} in the second scan larger, smaller or about the same size?"
            items.append(closed_item(rng, "comparison", q, imgs, words[change], [words[c] for c in _CHANGES if c != change], p.patient_id))
            gold = f"The {lesion} is {words[change]} on the second scan ({a.whole_ml:.1f} mL before, {b.whole_ml:.1f} mL after)."
            items.append(QItem("comparison", f"How does the {lesion} in the second image compare with the first?", imgs, gold,
                               patient_id=p.patient_id))
    return items


def _sequence_items(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    visit = p.visits[int(rng.integers(len(p.visits)))]
    n = 2 + int(rng.integers(2))
    chosen = [visit.images[i] for i in rng.permutation(len(visit.images))[:n]]
    target = chosen[int(rng.integers(n))]
    names = ordinal_options(rng, n)
    q = pick(rng, _SEQ_STEMS).format(s=_SEQ_NAMES[target.sequence])
    correct = names[chosen.index(target)]
    item = QItem("coreference", q, chosen, correct, list(names), patient_id=p.patient_id)
    open_gold = {"T1": "T1-weighted", "T1C": "T1-weighted post-contrast", "T2": "T2-weighted", "FLAIR": "FLAIR"}
    second = QItem("coreference", "Which MRI sequence is the second image?", chosen, open_gold[chosen[1].sequence],
                   patient_id=p.patient_id)
    return [item, second]


def _dated_items(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    n = min(len(p.visits), 3)
    visits = [p.visits[i] for i in sorted(rng.choice(len(p.visits), size=n, replace=False))]
    order = list(rng.permutation(n))
    imgs = [_key(visits[i]) for i in order]
    names = ordinal_options(rng, n)
    latest, earliest = order.index(n - 1), order.index(0)
    modality = "head CT" if p.kind == "ct" else "MRI"
    return [
        QItem("coreference", f"Which of these {modality} scans is the most recent?", imgs, names[latest], list(names), ("dicom",), p.patient_id),
        QItem("coreference", f"Which of these {modality} scans is the baseline (earliest) examination?", imgs, names[earliest],
              list(names), ("dicom",), p.patient_id),
    ]


def coreference(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """Which image is a given MR sequence; which is the left eye; which is most recent (dicom only)."""
    if p.kind in ("cxr", "mg"):
        return (questions_cxr if p.kind == "cxr" else questions_mg).coreference(rng, p)
    items: list[QItem] = []
    if p.kind == "mri":
        items += _sequence_items(rng, p)
    if p.kind in ("mri", "ct") and len(p.visits) >= 2:
        items += _dated_items(rng, p)
    if p.kind == "fundus":
        eyes = list(p.visits[0].images)
        if rng.random() < 0.5:
            eyes.reverse()
        names = ordinal_options(rng, 2)
        side = pick(rng, ["L", "R"])
        word = {"L": "left", "R": "right"}[side]
        correct = names[[str(im.laterality) for im in eyes].index(side)]
        items.append(QItem("coreference", f"Which of these fundus photographs shows the {word} eye?", eyes, correct, list(names),
                           patient_id=p.patient_id))
    return items
