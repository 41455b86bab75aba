"""Temporal mentions ("the prior", "baseline", "six months ago", "the scan from March 2024")."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date

from mimir.domain import CaseImage
from mimir.memory.mentions import NOUN, Hit

_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty-four": 24}
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_N = rf"(?:{NOUN}|mris?|cts?)"

# (pattern, role): role picks a visit among the distinct dates, oldest = 0.
_ROLES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b(?:the\s+)?(?:previous|prior|earlier|preceding|older)\s+(?:and|&)\s+(?:the\s+)?(?:current|latest|recent|present|later|newer)\s+(?:{_N}\s+)?{_N}", re.I), "pair"),
    (re.compile(rf"\b(?:the\s+)?(?:previous|prior|preceding)\s+(?:x-ray\s+|mri\s+|ct\s+)?(?:{_N}|one)\b", re.I), "prior"),
    (re.compile(r"\bthe\s+prior\b(?!\s+to\b)", re.I), "prior"),
    (re.compile(rf"\b(?:the\s+)?baseline(?:\s+{_N})?", re.I), "baseline"),
    (re.compile(rf"\b(?:the\s+)?earliest(?:\s+{_N})?", re.I), "baseline"),
    (re.compile(rf"\b(?:the\s+)?(?:most\s+recent|latest|newest|current|present|today'?s)(?:(?:\s+{_N}){{1,2}}|\s+one)?", re.I), "latest"),
    (re.compile(rf"\b(?:the\s+)?follow-?\s?up(?:\s+{_N})?", re.I), "latest"),
    (re.compile(rf"\b(?:the\s+)?earlier(?:\s+{_N}|\s+one)", re.I), "earlier"),
    (re.compile(rf"\b(?:the\s+)?(?:later|newer|more\s+recent)(?:\s+{_N}|\s+one)", re.I), "latest"),
]
_MONTH_RE = re.compile(
    rf"\b(?:the\s+)?(?:{_N}\s+)?(?:from|of|in|on|dated)\s+(?P<mon>{'|'.join(sorted(_MONTHS, key=len, reverse=True))})\.?\s+(?P<year>\d{{4}})\b",
    re.I)
_AGO_RE = re.compile(
    rf"\b(?:the\s+)?(?:{_N}\s+)?(?:from\s+)?(?P<num>\d+|{'|'.join(_NUM)})\s+(?P<unit>weeks?|months?|years?)\s+ago\b", re.I)


def _visits(images: list[CaseImage]) -> list[list[int]] | None:
    """Image indices grouped by distinct date, oldest first; None when any image is undated."""
    if any(img.study_date is None for img in images):
        return None
    dates = sorted({img.study_date for img in images if img.study_date})
    return [[i for i, img in enumerate(images) if img.study_date == d] for d in dates]


def _pick(role: str, groups: list[list[int]]) -> list[list[int]]:
    """The visit(s) a role names, as candidate groups."""
    if role == "pair":
        return [groups[-2] + groups[-1]] if len(groups) >= 2 else []
    if role == "baseline":
        return [groups[0]]
    if role == "latest":
        return [groups[-1]]
    if role == "prior":
        return [groups[-2]] if len(groups) >= 2 else []
    return groups[:-1]  # earlier: any visit before the latest


def _bind(m: re.Match[str], groups: list[list[int]], role: str, dated: bool) -> Hit:
    picked = _pick(role, groups)
    text, s, e = m.group(0), m.start(), m.end()
    if not picked:
        return Hit(s, e, text, [], 0.0, f"'{role}' needs at least two visits",
                   [[i] for g in groups for i in g], True)
    why = "by study date" if dated else "undated: case order taken as visit order"
    if len(picked) > 1:
        return Hit(s, e, text, picked[-1], 0.4, f"{role}: several earlier visits ({why})", picked, True)
    idx = picked[0]
    if dated and len(idx) > 1 and role != "pair":
        return Hit(s, e, text, idx, 0.5, f"{role}: {len(idx)} images share that date", [[i] for i in idx], True)
    if not dated and role == "pair" and len(idx) == sum(map(len, groups)):
        return Hit(s, e, text, idx, 0.85, f"{role}: every image of the case")
    if not dated:
        others = [[i] for g in groups for i in g if [i] != idx]
        return Hit(s, e, text, idx, 0.6, f"{role}: {why}", [idx, *others], True)
    return Hit(s, e, text, idx, 0.9, f"{role} {why}")


def _by_month(m: re.Match[str], images: list[CaseImage]) -> Hit:
    mon, year = _MONTHS[m.group("mon").lower().rstrip(".")], int(m.group("year"))
    idx = [i for i, img in enumerate(images) if img.study_date and (img.study_date.year, img.study_date.month) == (year, mon)]
    if not idx:
        return Hit(m.start(), m.end(), m.group(0), [], 0.0, f"no image dated {year}-{mon:02d}",
                   [[i] for i in range(len(images))], True)
    return Hit(m.start(), m.end(), m.group(0), idx, 0.9, f"study dated {year}-{mon:02d}")


def _months_back(d: date, months: int) -> date:
    y, mth = divmod(d.year * 12 + d.month - 1 - months, 12)
    return date(y, mth + 1, min(d.day, calendar.monthrange(y, mth + 1)[1]))


def _by_ago(m: re.Match[str], images: list[CaseImage]) -> Hit:
    raw = m.group("num").lower()
    num = int(raw) if raw.isdigit() else _NUM[raw]
    unit = m.group("unit").lower()
    dated = [(i, img.study_date) for i, img in enumerate(images) if img.study_date]
    if not dated:
        return Hit(m.start(), m.end(), m.group(0), [], 0.0, "no study dates to count back from",
                   [[i] for i in range(len(images))], True)
    latest = max(d for _, d in dated)
    target = _months_back(latest, num * (12 if unit.startswith("year") else 1)) if not unit.startswith("week") \
        else date.fromordinal(latest.toordinal() - 7 * num)
    gap = min(abs((d - target).days) for _, d in dated)
    idx = [i for i, d in dated if abs((d - target).days) == gap]
    conf = 0.9 if gap <= 31 else 0.5
    cands = [] if conf >= 0.9 else [[i] for i, d in sorted(dated, key=lambda p: abs((p[1] - target).days))]
    return Hit(m.start(), m.end(), m.group(0), idx, conf,
               f"closest study to {target} ({gap} days off), counted from the latest {latest}", cands, conf < 0.9)


def find_temporal(text: str, images: list[CaseImage]) -> Iterator[Hit]:
    """Every temporal mention in ``text``."""
    groups = _visits(images)
    dated = groups is not None
    if groups is None:
        groups = [[i] for i in range(len(images))]
    for pattern, role in _ROLES:
        for m in pattern.finditer(text):
            yield _bind(m, groups, role, dated)
    for m in _MONTH_RE.finditer(text):
        yield _by_month(m, images)
    for m in _AGO_RE.finditer(text):
        yield _by_ago(m, images)
