"""Dates written in a question: "5 March 2021", "9 of April of 2016", "2021-03-05", "03/04/2018", "March 2021", "2021".

Each is read as precisely as it was written (a year alone, a month and year, a full date); a numeric
date whose day and month could be either way round is read both ways.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from mimir import vocabulary as voc

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATES = [  # (pattern, groups): full dates first, then month and year, then month or year alone
    re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>\d\d?)-(?P<d>\d\d?)\b"),
    re.compile(rf"\b(?P<d>\d\d?)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MON})\.?,?\s+(?:of\s+)?(?P<y>(?:19|20)\d\d)\b",
               re.I),  # 9 April 2016, 9th of April, 2016, 9 of April of 2016 (as "9 de abril de 2016")
    re.compile(rf"\b(?P<d>\d\d?)([-/.])(?P<mon>{_MON})\2(?P<y>(?:19|20)\d\d)\b", re.I),  # 19-Jul-2015, 19/JUL/2015
    re.compile(rf"\b(?P<mon>{_MON})\.?\s+(?:the\s+)?(?P<d>\d\d?)(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b", re.I),
    re.compile(r"\b(?P<y>(?:19|20)\d\d)[/.](?P<m>\d\d?)[/.](?P<d>\d\d?)\b"),
    re.compile(r"\b(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])\b"),  # DICOM's 20190305
    re.compile(r"\b(?P<a>\d\d?)[/.](?P<b>\d\d?)[/.](?P<y>(?:19|20)\d\d)\b"),  # 29/07/2018, 07.29.2018
    re.compile(rf"\b(?P<mon>{_MON})\.?,?\s+(?:of\s+)?(?P<y>(?:19|20)\d\d)\b", re.I),
    re.compile(r"\b(?P<mon>" + "|".join(sorted((m for m in (*calendar.month_name, *calendar.month_abbr) if m and m != "May"),
                                             key=len, reverse=True)) + r")\b"),  # a month alone: capitalised, not "May"
    re.compile(r"\b(?P<y>(?:19|20)\d\d)\b"),
]


@dataclass(frozen=True)
class DateSpec:
    """A date named in text, as precise as it was written."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    either_way: bool = False  # day and month may be the other way round ("06/07/2015": 6 July or 7 June)

    def readings(self) -> list[tuple[int | None, int | None, int | None]]:
        """(year, month, day) of each way the date can be read."""
        first = (self.year, self.month, self.day)
        return [first, (self.year, self.day, self.month)] if self.either_way else [first]

    def __str__(self) -> str:
        return " or ".join("-".join(f"{v:02d}" for v in r if v is not None) for r in self.readings())


def _date(m: re.Match[str]) -> DateSpec:
    g = m.groupdict()
    if g.get("a"):
        return _numeric(int(g["a"]), int(g["b"]), int(g["y"]), dotted="." in m.group(0))
    month = int(g["m"]) if g.get("m") else _MONTHS[g["mon"].lower().rstrip(".")] if g.get("mon") else None
    return DateSpec(int(g["y"]) if g.get("y") else None, month, int(g["d"]) if g.get("d") else None)


def _numeric(a: int, b: int, year: int, dotted: bool = False) -> DateSpec:
    """A date written in numbers, day and month in either order: read where only one order is a date.

    "29/07/2018" is 29 July (no month 29), "07/29/2018" too; "03/04/2018" is 3 April in British and
    4 March in American writing, so it is read both ways (an image dated on either matches; two images,
    one on each, leave the reference open). Dots are the European writing, day first ("3.09.2021" is
    3 September), unless that is no date.
    """
    if a == b or a > 12 >= b or dotted and b <= 12:
        return DateSpec(year, b, a)
    if b > 12 >= a:
        return DateSpec(year, a, b)
    return DateSpec(year, b, a, either_way=True)


def dates_in(text: str) -> list[DateSpec]:
    """The dates a text names, as precise as written ("5 March 2021", "March 2021", "2021-03-05", "2021")."""
    return [date for _, _, date in date_spans(text)]


def date_spans(text: str) -> list[tuple[int, int, DateSpec]]:
    """(start, end, date) of each date a text names: the fullest reading first, no two overlapping."""
    out: list[tuple[int, int, DateSpec]] = []
    for pattern in _DATES:
        for m in pattern.finditer(text):
            if all(m.end() <= a or m.start() >= b for a, b, _ in out):
                out.append((m.start(), m.end(), _date(m)))
    return out


def without_date_deixis(text: str) -> str:
    """The text with "last" / "past" right before a date blanked out (same length, so offsets hold).

    In "the scan taken last Oct 5th 2019" the "last" places the date; it names no latest image.
    """
    out = text
    for start, _, _ in date_spans(text):
        before = text[:start].rstrip()
        for m in voc.find(before, "date_deixis"):
            if m.end == len(before):
                out = out[:m.start] + " " * (m.end - m.start) + out[m.end:]
    return out
