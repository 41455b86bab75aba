"""Chest-radiograph questions in the style of MS-CXR-T's items (Med-MIM comparison), from the simulation only.

Pairs of consecutive films ask how the patient's finding changed (worsened, stable, improved), which
film shows more of it, or for an open description; series of three films ask for the course;
co-reference asks which film is the AP (or PA) projection, or the most recent / baseline (``dicom``
only, from StudyDate). Films are in visit order unless the item says they are not (``dicom`` only).
"""

from __future__ import annotations

import numpy as np

from mimir.demo.qformat import QItem, closed_item, ordinal_options, pick
from mimir.demo.truth import ImageTruth, PatientTruth

#: How the questions name each finding (MS-CXR-T's names).
NAMES = {"pleural effusion": "pleural effusion", "consolidation": "consolidation", "pneumonia": "pneumonia",
         "pneumothorax": "pneumothorax", "oedema": "pulmonary edema"}
_CHANGE = {"progressing": "worsened", "stable": "remained stable", "improving": "improved"}
_PAIR_STEMS = (
    "Based on the first and second chest X-rays, how has the patient's {f} changed?",
    "Comparing the two chest radiographs, what best describes the course of the {f}?",
    "Based on the X-ray images, what can be said about the progress of the {f}?",
    "Looking at the second chest X-ray relative to the first, how would you describe the {f}?",
)


def _film(p: PatientTruth, v: int) -> ImageTruth:
    return p.visits[v].images[0]


def _name(p: PatientTruth) -> str:
    return NAMES[p.finding or ""]


def _change_options(rng: np.random.Generator, f: str, change: str) -> tuple[str, list[str]]:
    texts = {c: f"The {f} has {w}" for c, w in _CHANGE.items()}
    return texts[change], [t for c, t in texts.items() if c != change]


def comparison(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """Per consecutive pair: how the finding changed; which film shows more of it; an open description."""
    items: list[QItem] = []
    f = _name(p)
    for v in range(1, len(p.visits)):
        a, b = p.visits[v - 1], p.visits[v]
        change = str(b.change_from_previous)
        imgs = [_film(p, v - 1), _film(p, v)]
        correct, others = _change_options(rng, f, change)
        items.append(closed_item(rng, "comparison", pick(rng, _PAIR_STEMS).format(f=f), imgs, correct, others, p.patient_id))
        if change != "stable":
            first, second = ordinal_options(rng, 2)
            larger = second if change == "progressing" else first
            q = f"Which of the two chest X-rays shows the more extensive {f}?"
            items.append(closed_item(rng, "comparison", q, imgs, larger, [first if larger == second else second], p.patient_id))
        gold = (f"The {f} has {_CHANGE[change]}: it covers about {a.finding_mm2:.0f} mm2 on the first film "
                f"and {b.finding_mm2:.0f} mm2 on the second.")
        items.append(QItem("comparison", f"Did the patient's {f} improve or worsen between the first and second X-ray images?",
                           imgs, gold, patient_id=p.patient_id))
    return items


def temporal(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """The course over three films in order; from earliest to latest of shuffled films (``dicom`` only)."""
    f = _name(p)
    trajectory = _CHANGE[p.trajectory]
    texts = {w: f"The {f} has {w}" for w in _CHANGE.values()}
    others = [t for w, t in texts.items() if w != trajectory]
    items: list[QItem] = []
    if len(p.visits) >= 3:
        q = f"These three chest radiographs are in chronological order. How has the {f} evolved across them?"
        items.append(closed_item(rng, "temporal", q, [_film(p, v) for v in range(3)], texts[trajectory], others, p.patient_id))
    chosen = [0, len(p.visits) - 1] if len(p.visits) == 2 else [0, 1, 2]
    order = rng.permutation(len(chosen))
    q = (f"These chest X-rays are not shown in chronological order. Using their study dates, how has the {f} "
         "changed from the earliest to the latest film?")
    items.append(closed_item(rng, "temporal", q, [_film(p, chosen[i]) for i in order], texts[trajectory], others,
                             p.patient_id, variants=("dicom",)))
    return items


def coreference(rng: np.random.Generator, p: PatientTruth) -> list[QItem]:
    """Which film is the AP (or PA) projection; which is the most recent or the baseline (``dicom`` only)."""
    items: list[QItem] = []
    views = [str(_film(p, v).view) for v in range(len(p.visits))]
    if {"AP", "PA"} <= set(views):
        target = pick(rng, ["AP", "PA"])
        other = "PA" if target == "AP" else "AP"
        pair = [_film(p, views.index(target)), _film(p, views.index(other))]
        if rng.random() < 0.5:
            pair.reverse()
        names = ordinal_options(rng, 2)
        word = {"AP": "anteroposterior (AP)", "PA": "posteroanterior (PA)"}[target]
        q = pick(rng, [f"Which of these chest radiographs was taken in the {word} projection?",
                       f"Identify the chest X-ray acquired as an {target} view."]) if target == "AP" else (
            f"Which of these chest radiographs was taken in the {word} projection?")
        items.append(QItem("coreference", q, pair, names[pair.index(_film(p, views.index(target)))], list(names),
                           patient_id=p.patient_id))
    n = min(len(p.visits), 3)
    chosen = sorted(rng.choice(len(p.visits), size=n, replace=False))
    order = list(rng.permutation(n))
    imgs = [_film(p, int(chosen[i])) for i in order]
    names = ordinal_options(rng, n)
    items.append(QItem("coreference", "Which of these chest X-rays is the most recent?", imgs, names[order.index(n - 1)],
                       list(names), ("dicom",), p.patient_id))
    items.append(QItem("coreference", "Which of these chest X-rays is the baseline (earliest) examination?", imgs,
                       names[order.index(0)], list(names), ("dicom",), p.patient_id))
    return items
