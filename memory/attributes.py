"""Attribute mentions bound through image metadata: MR sequence, view, modality, laterality."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from mimir.domain import CaseImage
from mimir.memory.ingest.records import guess_sequence
from mimir.memory.mentions import Hit

Test = Callable[[CaseImage], bool | None]  # None: this image's metadata cannot tell
#: Modality words ("the MRI") usually describe every image of a single-modality case; with no
#: modality metadata at all they are left unbound instead of being flagged as ambiguous.
_DESCRIPTIVE = {"CT", "MRI", "X-ray"}


def _seq(name: str) -> Test:
    def test(img: CaseImage) -> bool | None:
        found = guess_sequence(img.series_description)
        return None if found is None else found == name
    return test


def _view(*names: str) -> Test:
    def test(img: CaseImage) -> bool | None:
        return None if not img.view else img.view.upper() in names
    return test


def _modality(*names: str) -> Test:
    def test(img: CaseImage) -> bool | None:
        return None if not img.modality else img.modality.upper() in names
    return test


def _side(side: str) -> Test:
    def test(img: CaseImage) -> bool | None:
        return None if not img.laterality else img.laterality in (side, "B")
    return test


_T1C = r"(?:t1[- ]?(?:weighted\s+)?(?:post[- ]?contrast|post-?gad(?:olinium)?|\+\s?c|ce|c|gd|with\s+contrast)|post[- ]?contrast\s+t1(?:[- ]weighted)?|contrast[- ]enhanced\s+t1(?:[- ]weighted)?)"
ATTRIBUTES: list[tuple[re.Pattern[str], str, Test]] = [
    (re.compile(rf"\b(?:the\s+)?{_T1C}(?:\s+mri?)?(?:\s+(?:scan|image|sequence|series))?", re.I), "T1 post-contrast", _seq("T1C")),
    (re.compile(r"\b(?:the\s+)?t1[- ]?(?:weighted)?(?:\s+pre[- ]?contrast|\s+without\s+contrast|\s+native)?(?:\s+mri?)?(?:\s+(?:scan|image|sequence|series))?(?![\w+-])", re.I), "T1", _seq("T1")),
    (re.compile(r"\b(?:the\s+)?t2[- ]?(?:weighted)?(?:\s+mri?)?(?:\s+(?:scan|image|sequence|series))?(?![\w-])", re.I), "T2", _seq("T2")),
    (re.compile(r"\b(?:the\s+)?(?:fluid[- ]?attenuated\s+inversion\s+recovery(?:\s*\(flair\))?|flair)(?:\s+mri?)?(?:\s+(?:scan|image|sequence|series))?", re.I), "FLAIR", _seq("FLAIR")),
    (re.compile(r"\b(?:the\s+)?(?:craniocaudal(?:\s*\(cc\))?|cc)(?:\s+view)?(?:\s+(?:breast\s+)?(?:scan|image|mammogram))?\b", re.I), "CC view", _view("CC")),
    (re.compile(r"\b(?:the\s+)?(?:mediolateral[- ]oblique(?:\s*\(mlo\))?|mlo)(?:\s+view)?(?:\s+(?:breast\s+)?(?:scan|image|mammogram))?\b", re.I), "MLO view", _view("MLO")),
    (re.compile(r"\b(?:the\s+)?(?:pa|posteroanterior)\s+(?:view|image|radiograph|x-?ray|film)", re.I), "PA view", _view("PA")),
    (re.compile(r"\b(?:the\s+)?(?:ap|anteroposterior)\s+(?:view|image|radiograph|x-?ray|film)", re.I), "AP view", _view("AP")),
    (re.compile(r"\b(?:the\s+)?lateral\s+(?:view|image|radiograph|x-?ray|film)", re.I), "lateral view", _view("LAT", "LL", "RL", "LATERAL")),
    (re.compile(r"\bthe\s+ct(?:\s+(?:scan|image|study))?\b", re.I), "CT", _modality("CT")),
    (re.compile(r"\bthe\s+(?:mri|mr)(?:\s+(?:scan|image|study))?\b", re.I), "MRI", _modality("MR")),
    (re.compile(r"\bthe\s+(?:x-?ray|radiograph)(?!\s+images)\b", re.I), "X-ray", _modality("CR", "DX", "RG", "XR")),
    (re.compile(r"\b(?:the\s+)?left\s+(?:eye|breast|fundus(?:\s+image)?|retina|kidney)\b", re.I), "left side", _side("L")),
    (re.compile(r"\b(?:the\s+)?right\s+(?:eye|breast|fundus(?:\s+image)?|retina|kidney)\b", re.I), "right side", _side("R")),
]
_LR_IMAGE = re.compile(r"\b(?:the\s+)?(?:image|picture|one|photo|scan)\s+on\s+the\s+(?P<a>left|right)\b|"
                       r"\bthe\s+(?P<b>left|right)(?:-hand)?\s+(?:image|picture|one|photo|scan)\b", re.I)


def _attribute_hit(m: re.Match[str], label: str, test: Test, images: list[CaseImage]) -> Hit:
    verdicts = [test(img) for img in images]
    n, s, e, text = len(images), m.start(), m.end(), m.group(0)
    yes = [i for i, v in enumerate(verdicts) if v]
    unknown = [i for i, v in enumerate(verdicts) if v is None]
    if len(yes) == 1 and not unknown:
        return Hit(s, e, text, yes, 0.95, f"{label}: the only image whose metadata matches")
    if yes and not unknown:
        return Hit(s, e, text, yes, 0.5, f"{label}: {len(yes)} images match", [[i] for i in yes], True)
    if len(unknown) == n:
        return Hit(s, e, text, [], 0.0, f"{label}: no metadata; decide from the pixels", [[i] for i in range(n)], True)
    cands = [[i] for i in yes + unknown]
    return Hit(s, e, text, yes, 0.3 if yes else 0.0, f"{label}: metadata incomplete", cands, True)


def _left_right(m: re.Match[str], images: list[CaseImage]) -> Hit:
    side = (m.group("a") or m.group("b")).lower()
    code = "L" if side == "left" else "R"
    if any(img.laterality for img in images):
        return _attribute_hit(m, f"{side} side", _side(code), images)
    n = len(images)
    pos = 0 if side == "left" else n - 1
    return Hit(m.start(), m.end(), m.group(0), [pos], 0.5,
               f"no laterality known: read as the {side}most image in display order", [[pos]] + [[i] for i in range(n) if i != pos], True)


def find_attributes(text: str, images: list[CaseImage]) -> Iterator[Hit]:
    """Every metadata mention in ``text``."""
    for pattern, label, test in ATTRIBUTES:
        if label in _DESCRIPTIVE and all(test(img) is None for img in images):
            continue
        for m in pattern.finditer(text):
            yield _attribute_hit(m, label, test, images)
    for m in _LR_IMAGE.finditer(text):
        yield _left_right(m, images)
