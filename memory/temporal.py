"""Time in references: visits by study date, roles (baseline, prior, latest, earlier, later), dates, "ago"."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date
from functools import cache

from mimir import vocabulary as voc
from mimir.domain import CaseImage
from mimir.memory.dates import DateSpec
from mimir.memory.mentions import Hit

_UNITS = r"(?P<unit>weeks?|months?|years?)"


@cache
def _ago_pattern() -> re.Pattern[str]:
    """The pattern of "six months ago", "the scan from 2 years ago" (counts and nouns from the vocabulary)."""
    return re.compile(rf"\b(?:the\s+)?(?:{voc.pattern('image_noun')}\s+)?(?:from\s+)?(?P<num>\d+|a|an|"
                      rf"{voc.pattern('cardinal')})\s+{_UNITS}\s+ago\b", re.I)


def visits(images: list[CaseImage], pool: list[int]) -> list[list[int]] | None:
    """Indices of ``pool`` grouped by distinct date, oldest first; None when any of them is undated."""
    if any(images[i].study_date is None for i in pool):
        return None
    dates = sorted({d for i in pool if (d := images[i].study_date) is not None})
    return [[i for i in pool if images[i].study_date == d] for d in dates]


def pick(role: str, groups: list[list[int]], count: int | None = None) -> list[list[int]]:
    """The visit(s) a role names among ``groups``; with a count, that many visits as one group."""
    if count:
        chosen = {"baseline": groups[:count], "latest": groups[-count:], "prior": groups[-count - 1:-1],
                  "earlier": groups[:count], "later": groups[-count:]}[role]
        return [sorted(i for g in chosen for i in g)] if len(chosen) == count else []
    if role == "baseline":
        return [groups[0]]
    if role == "latest":
        return [groups[-1]]
    if role == "prior":
        return [groups[-2]] if len(groups) >= 2 else []
    return groups[:-1] if role == "earlier" else groups[1:]


def bind_roles(span: tuple[int, int, str], roles: list[str], images: list[CaseImage], pool: list[int],
               count: int | None = None, plural: bool = False) -> Hit:
    """A hit for one or more time roles among the ``pool`` images (a union for "the prior and current")."""
    s, e, text = span
    found = visits(images, pool)
    dated = found is not None
    groups = found if found is not None else [[i] for i in pool]
    why = "by study date" if dated else "undated: case order taken as visit order"
    picks = [pick(r, groups, count) for r in roles]
    if any(not p for p in picks):
        need = f"{count} visits" if count else "at least two visits"
        return Hit(s, e, text, [], 0.0, f"'{'/'.join(roles)}' needs {need}", [[i] for g in groups for i in g], True)
    name = " and ".join(roles)
    if len(roles) > 1 or count:
        idx = sorted({i for p in picks for i in p[0]})
        if dated:
            return Hit(s, e, text, idx, 0.9, f"{name} {why}")
        if idx == sorted(pool):
            return Hit(s, e, text, idx, 0.85, f"{name}: every image of the case")
        return Hit(s, e, text, idx, 0.6, f"{name}: {why}", [idx, *[[i] for i in pool if i not in idx]], True)
    picked, role = picks[0], roles[0]
    if len(picked) > 1:
        best = picked[-1] if role == "earlier" else picked[0]
        return Hit(s, e, text, best, 0.4, f"{role}: several visits qualify ({why})", picked, True)
    idx = picked[0]
    if dated and len(idx) > 1 and not plural:
        return Hit(s, e, text, idx, 0.5, f"{role}: {len(idx)} images share that date", [[i] for i in idx], True)
    if not dated:
        return Hit(s, e, text, idx, 0.6, f"{role}: {why}", [idx, *[[i] for i in pool if [i] != idx]], True)
    return Hit(s, e, text, idx, 0.9, f"{role} {why}")


def on_date(spec: DateSpec, images: list[CaseImage], pool: list[int]) -> list[int]:
    """Images of ``pool`` dated within the (year, month, day) that ``spec`` names."""
    out = []
    for i in pool:
        d = images[i].study_date
        if d and any(all(want is None or want == got for want, got in zip(reading, (d.year, d.month, d.day), strict=True))
                     for reading in spec.readings()):
            out.append(i)
    return out


def _months_back(d: date, months: int) -> date:
    y, mth = divmod(d.year * 12 + d.month - 1 - months, 12)
    return date(y, mth + 1, min(d.day, calendar.monthrange(y, mth + 1)[1]))


def _by_ago(m: re.Match[str], images: list[CaseImage]) -> Hit:
    raw = m.group("num").lower()
    num = int(raw) if raw.isdigit() else 1 if raw in ("a", "an") else voc.cardinal_value(raw) or 1
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


def find_ago(text: str, images: list[CaseImage]) -> Iterator[Hit]:
    """Every "N months/weeks/years ago" mention, bound to the study closest to that date."""
    for m in _ago_pattern().finditer(text):
        yield _by_ago(m, images)
