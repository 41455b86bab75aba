"""What the paraphrase suite asks about: facts read from a demo build's ground truth, never from its questions.

A :class:`Fact` is one answerable question *without wording*: the images shown (in order), the value
that is true, the other values an option may name, and slots a template fills in (the organ, the
sequence asked about, a date). :mod:`mimir.evals.paraphrase` words facts with templates. Every fact
is taken only where the simulation makes the answer clear-cut (the change classes of
``mimir.demo.truth`` are separated by construction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from mimir.demo.truth import ImageTruth, PatientTruth, VisitTruth

CHANGE = {"progressing": "increase", "improving": "decrease", "stable": "stable"}
RESECTION = {"gross-total resection": "gross_total", "partial resection": "partial"}


@dataclass
class Fact:
    """One answerable question before it is worded."""

    kind: str
    images: list[ImageTruth]
    value: str
    values: list[str]
    patient_id: str
    slots: dict[str, str] = field(default_factory=dict)
    dicom_only: bool = False


def _key(visit: VisitTruth) -> ImageTruth:
    """The image followed over time: the post-contrast T1 of an MRI visit, the CT itself."""
    return next(im for im in visit.images if im.sequence in ("T1C", "CT"))


def _organ(p: PatientTruth) -> str:
    return "haemorrhage" if p.kind == "ct" else "tumour"


def _pairs(p: PatientTruth) -> Iterator[tuple[VisitTruth, VisitTruth, str]]:
    for a, b in zip(p.visits, p.visits[1:], strict=False):
        if b.change_from_previous in CHANGE:
            yield a, b, CHANGE[b.change_from_previous]


def change_pair(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Change between consecutive visits (prior -> current)."""
    return [Fact("change_pair", [_key(a), _key(b)], c, list(CHANGE.values()), p.patient_id, {"organ": _organ(p)})
            for a, b, c in _pairs(p)]


def change_yesno(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Has it <asked change> since the prior: yes or no (the asked change drawn at random)."""
    out = []
    for a, b, c in _pairs(p):
        asked = str(rng.choice(list(CHANGE.values())))
        out.append(Fact("change_yesno", [_key(a), _key(b)], "yes" if asked == c else "no", ["yes", "no"], p.patient_id,
                        {"organ": _organ(p), "asked": asked}))
    return out


def _monotone(p: PatientTruth) -> bool:
    return p.trajectory in CHANGE and len(p.visits) >= 3


def change_span(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Change from the baseline to the latest of three visits shown in order."""
    if not _monotone(p):
        return []
    return [Fact("change_span", [_key(v) for v in p.visits[:3]], CHANGE[p.trajectory], list(CHANGE.values()), p.patient_id,
                 {"organ": _organ(p)})]


def change_range(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Change between the first two or the last two of three visits ("the last two scans")."""
    if len(p.visits) < 3 or p.kind not in ("mri", "ct"):
        return []
    visits = p.visits[:3]
    which = str(rng.choice(["first", "last"]))
    b = visits[1] if which == "first" else visits[2]
    if b.change_from_previous not in CHANGE:
        return []
    return [Fact("change_range", [_key(v) for v in visits], CHANGE[b.change_from_previous], list(CHANGE.values()),
                 p.patient_id, {"organ": _organ(p), "which": which})]


def compound_change(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Two questions in one: grown since the baseline, and grown since the prior (monotone courses)."""
    if not _monotone(p):
        return []
    grown = "yes" if p.trajectory == "progressing" else "no"
    return [Fact("compound_change", [_key(v) for v in p.visits[:3]], f"{grown}_{grown}",
                 ["yes_yes", "no_no", "yes_no", "no_yes"], p.patient_id, {"organ": _organ(p)})]


def _resections(p: PatientTruth) -> Iterator[tuple[VisitTruth, VisitTruth, str]]:
    for a, b in zip(p.visits, p.visits[1:], strict=False):
        if b.change_from_previous in RESECTION:
            yield a, b, RESECTION[b.change_from_previous]


def resection(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Extent of resection from the pre- and post-operative scans."""
    return [Fact("resection", [_key(a), _key(b)], r, list(RESECTION.values()), p.patient_id) for a, b, r in _resections(p)]


def residual_yesno(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Is enhancing tumour left after surgery: yes for a partial resection."""
    return [Fact("residual_yesno", [_key(a), _key(b)], "yes" if r == "partial" else "no", ["yes", "no"], p.patient_id)
            for a, b, r in _resections(p)]


def larger_of_pair(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which of two visits shows more (or less) lesion."""
    out = []
    for a, b, c in _pairs(p):
        if c == "stable":
            continue
        want = str(rng.choice(["more", "less"]))
        bigger = 1 if c == "increase" else 0
        out.append(Fact("larger_of_pair", [_key(a), _key(b)], str(bigger if want == "more" else 1 - bigger), ["0", "1"],
                        p.patient_id, {"organ": _organ(p), "want": want}))
    return out


def extreme_of_three(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which of three visits shows the most (or least) lesion."""
    if not _monotone(p) or p.trajectory == "stable":
        return []
    want = str(rng.choice(["most", "least"]))
    largest = 2 if p.trajectory == "progressing" else 0
    value = largest if want == "most" else 2 - largest
    return [Fact("extreme_of_three", [_key(v) for v in p.visits[:3]], str(value), ["0", "1", "2"], p.patient_id,
                 {"organ": _organ(p), "want": want})]


def amount_pair(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Is the lesion on the second image more, less or about the same as on the first."""
    names = {"increase": "more", "decrease": "less", "stable": "equal"}
    return [Fact("amount_pair", [_key(a), _key(b)], names[c], ["more", "less", "equal"], p.patient_id, {"organ": _organ(p)})
            for a, b, c in _pairs(p)]


def _contrasts(p: PatientTruth, rng: np.random.Generator, n: int) -> list[ImageTruth]:
    visit = p.visits[int(rng.integers(len(p.visits)))]
    return [visit.images[i] for i in rng.permutation(len(visit.images))[:n]]


def sequence_which(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which of 2-3 contrasts of one visit is the named sequence."""
    if p.kind != "mri":
        return []
    shown = _contrasts(p, rng, 2 + int(rng.integers(2)))
    k = int(rng.integers(len(shown)))
    return [Fact("sequence_which", shown, str(k), [str(i) for i in range(len(shown))], p.patient_id,
                 {"seq": shown[k].sequence})]


def sequence_what(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which sequence a named image is."""
    if p.kind != "mri":
        return []
    shown = _contrasts(p, rng, 2 + int(rng.integers(2)))
    k = int(rng.integers(len(shown)))
    return [Fact("sequence_what", shown, shown[k].sequence, ["T1", "T1C", "T2", "FLAIR"], p.patient_id, {"pos": str(k)})]


def sequence_not(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Of two contrasts, which is NOT the named one."""
    if p.kind != "mri":
        return []
    shown = _contrasts(p, rng, 2)
    k = int(rng.integers(2))
    return [Fact("sequence_not", shown, str(1 - k), ["0", "1"], p.patient_id, {"seq": shown[k].sequence})]


def compound_sequences(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which of two contrasts is which, in one question."""
    if p.kind != "mri":
        return []
    shown = _contrasts(p, rng, 2)
    a, b = shown[0].sequence, shown[1].sequence
    return [Fact("compound_sequences", shown, "ab", ["ab", "ba"], p.patient_id, {"seq_a": a, "seq_b": b})]


def _eyes(p: PatientTruth, rng: np.random.Generator) -> list[ImageTruth]:
    eyes = list(p.visits[0].images)
    return eyes[::-1] if rng.random() < 0.5 else eyes


def side_which(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which fundus photograph is the named eye."""
    if p.kind != "fundus":
        return []
    eyes = _eyes(p, rng)
    side = str(rng.choice(["L", "R"]))
    return [Fact("side_which", eyes, str([str(im.laterality) for im in eyes].index(side)), ["0", "1"], p.patient_id,
                 {"side": side})]


def side_what(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which eye a named photograph shows."""
    if p.kind != "fundus":
        return []
    eyes = _eyes(p, rng)
    k = int(rng.integers(2))
    return [Fact("side_what", eyes, str(eyes[k].laterality), ["L", "R"], p.patient_id, {"pos": str(k)})]


def compound_sides(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which photograph is the left eye and which the right, in one question."""
    if p.kind != "fundus":
        return []
    eyes = _eyes(p, rng)
    return [Fact("compound_sides", eyes, "LR" if eyes[0].laterality == "L" else "RL", ["LR", "RL"], p.patient_id)]


def _dated(p: PatientTruth, rng: np.random.Generator) -> tuple[list[VisitTruth], list[ImageTruth]]:
    n = min(len(p.visits), 3)
    visits = [p.visits[i] for i in sorted(rng.choice(len(p.visits), size=n, replace=False))]
    order = [int(i) for i in rng.permutation(n)]
    return [visits[i] for i in order], [_key(visits[i]) for i in order]


def time_which(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which of shuffled, dated scans is the most recent or the baseline (headers only)."""
    if p.kind not in ("mri", "ct") or len(p.visits) < 2:
        return []
    visits, imgs = _dated(p, rng)
    want = str(rng.choice(["latest", "baseline"]))
    dates = [v.study_date for v in visits]
    k = dates.index(max(dates) if want == "latest" else min(dates))
    return [Fact("time_which", imgs, str(k), [str(i) for i in range(len(imgs))], p.patient_id, {"want": want},
                 dicom_only=True)]


def date_which(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which of shuffled scans was taken on a named date (headers only)."""
    if p.kind not in ("mri", "ct") or len(p.visits) < 2:
        return []
    visits, imgs = _dated(p, rng)
    k = int(rng.integers(len(visits)))
    return [Fact("date_which", imgs, str(k), [str(i) for i in range(len(imgs))], p.patient_id,
                 {"date": visits[k].study_date.isoformat()}, dicom_only=True)]


def finding_yesno(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Does each eye show exudates or drusen: needs a look at the pixels (a VLM)."""
    if p.kind != "fundus":
        return []
    out = []
    for eye in _eyes(p, rng):
        finding = str(rng.choice(["exudates", "drusen"]))
        present = eye.lesions.get(finding, 0) > 0
        out.append(Fact("finding_yesno", [eye], "yes" if present else "no", ["yes", "no"], p.patient_id,
                        {"finding": finding, "side": str(eye.laterality)}))
    return out


def eye_diagnosis(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """The diagnosis of one eye, with both photographs shown: needs a VLM."""
    if p.kind != "fundus":
        return []
    eyes = _eyes(p, rng)
    eye = eyes[int(rng.integers(2))]
    return [Fact("eye_diagnosis", eyes, str(eye.diagnosis), ["normal", "diabetic retinopathy", "AMD"], p.patient_id,
                 {"side": str(eye.laterality)})]


def compound_side_finding(p: PatientTruth, rng: np.random.Generator) -> list[Fact]:
    """Which photograph is the named eye, and does it show a finding: the second part needs a VLM."""
    if p.kind != "fundus":
        return []
    eyes = _eyes(p, rng)
    side = str(rng.choice(["L", "R"]))
    k = [str(im.laterality) for im in eyes].index(side)
    present = "yes" if eyes[k].lesions.get("exudates", 0) > 0 else "no"
    return [Fact("compound_side_finding", eyes, f"{k}_{present}", ["0_yes", "0_no", "1_yes", "1_no"], p.patient_id,
                 {"side": side, "finding": "exudates"})]


FACTS: dict[str, Callable[[PatientTruth, np.random.Generator], list[Fact]]] = {
    f.__name__: f for f in (change_pair, change_yesno, change_span, change_range, compound_change, resection,
                            residual_yesno, larger_of_pair, extreme_of_three, amount_pair, sequence_which, sequence_what,
                            sequence_not, compound_sequences, side_which, side_what, compound_sides, time_which,
                            date_which, finding_yesno, eye_diagnosis, compound_side_finding)
}
#: Facts whose answer needs visual judgement that no mimir expert gives: without a VLM they must abstain.
NEEDS_VLM = frozenset({"finding_yesno", "eye_diagnosis", "compound_side_finding"})
