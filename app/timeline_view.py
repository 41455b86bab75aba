"""The timeline as the review screen shows it: studies as rows, one row per series, formats folded.

A demo or PACS study often holds one sequence several times (a DICOM series, its key slice, a NIfTI
volume, a PNG). The screen shows one row per sequence: the viewer opens the most complete form
(series, else volume, else the picture) and questions use the form the experts read best (a key
slice, else a picture, else the series' middle slice); the other forms are listed behind the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from html import escape

from mimir.app.schemas import ImageEntry, StudyEntry, Timeline

#: Which form of a sequence the viewer shows first (lower first).
VIEW_ORDER = {"series": 0, "nifti": 1, "dicom": 2, "png": 3, "jpeg": 4}
#: Which form a question uses (lower first): the experts read 2D slices.
ASK_ORDER = {"dicom": 0, "png": 1, "jpeg": 2, "series": 3, "nifti": 4}


@dataclass
class TimelineSeriesRow:
    """One sequence of one study, with every stored form of it."""

    label: str
    key: str
    study_date: date | None
    modality: str | None
    forms: list[ImageEntry] = field(default_factory=list)

    @property
    def view_image(self) -> ImageEntry:
        """The form the viewer opens (a whole series or volume where there is one)."""
        return min(self.forms, key=lambda im: VIEW_ORDER.get(_form(im), 9))

    @property
    def ask_image(self) -> ImageEntry:
        """The form a question about this row uses."""
        return min(self.forms, key=lambda im: ASK_ORDER.get(_form(im), 9))

    def form_names(self) -> list[str]:
        """The stored forms in words, the viewer's first."""
        ordered = sorted(self.forms, key=lambda im: VIEW_ORDER.get(_form(im), 9))
        return [_form_words(im) for im in ordered]


@dataclass
class TimelineStudyRow:
    """A study and its sequences."""

    study: StudyEntry
    rows: list[TimelineSeriesRow]


def _form(im: ImageEntry) -> str:
    return "series" if im.series_size > 1 else im.file_format


def _form_words(im: ImageEntry) -> str:
    if im.series_size > 1:
        return f"DICOM series, {im.series_size} slices"
    return {"dicom": "DICOM key slice", "nifti": "NIfTI volume", "png": "PNG", "jpeg": "JPEG"}.get(
        im.file_format, im.file_format)


def series_key(im: ImageEntry) -> str:
    """What makes two images the same sequence across studies (sequence, view and side)."""
    what = im.sequence or im.series_description or "image"
    return "|".join(str(x) for x in (what, im.view if im.view not in (None, "AXIAL") else "", im.laterality or ""))


def _label(im: ImageEntry) -> str:
    what = im.series_description or im.sequence or im.view or "image"
    return f"{what} {im.laterality}" if im.laterality else what


def study_rows(timeline: Timeline) -> list[TimelineStudyRow]:
    """Studies in date order, each with one row per sequence."""
    out = []
    for st in timeline.studies:
        rows: dict[str, TimelineSeriesRow] = {}
        for im in st.images:
            key = series_key(im)
            row = rows.setdefault(key, TimelineSeriesRow(_label(im), key, st.study_date, st.modality))
            row.forms.append(im)
        out.append(TimelineStudyRow(st, list(rows.values())))
    return out


@dataclass(frozen=True)
class Comparison:
    """Latest and prior study of one sequence."""

    key: str
    label: str
    prior: TimelineSeriesRow
    latest: TimelineSeriesRow


def comparisons(studies: list[TimelineStudyRow]) -> list[Comparison]:
    """For each sequence seen in two or more dated studies: the latest and the one before it."""
    seen: dict[str, list[TimelineSeriesRow]] = {}
    for st in studies:
        if st.study.study_date is None:
            continue
        for row in st.rows:
            seen.setdefault(row.key, []).append(row)
    pairs = []
    for key, rows in seen.items():
        if len(rows) >= 2:
            ordered = sorted(rows, key=lambda r: r.study_date or date.min)
            pairs.append(Comparison(key, ordered[-1].label, ordered[-2], ordered[-1]))
    return pairs


def _row_html(row: TimelineSeriesRow, picked: list[int]) -> str:
    view, ask = row.view_image, row.ask_image
    on = ask.image_id in picked
    forms = escape(" · ".join(row.form_names()))
    return (
        f'<tr class="tl-series{" tl-picked" if on else ""}" data-act="view" data-id="{view.image_id}">'
        f'<td><img loading="lazy" alt="" src="/api/images/{view.image_id}/thumbnail?size=96" width="64" height="64"></td>'
        f'<td><b>{escape(row.label)}</b><br><small title="stored forms">{forms}</small></td>'
        f'<td><button class="tl-pick" data-act="pick" data-id="{ask.image_id}" aria-pressed="{str(on).lower()}">'
        f'{"✓ in question" if on else "+ question"}</button></td></tr>'
    )


def timeline_html(timeline: Timeline, picked: list[int]) -> str:
    """The patient's studies as rows (date, modality, description) with their series and thumbnails."""
    studies = study_rows(timeline)
    if not studies:
        return f"<p>{escape(timeline.patient_key)} has no studies yet: upload some below.</p>"
    parts = [_compare_html(comparisons(studies)), '<table class="tl">']
    for st in reversed(studies):  # newest first, as a reading list
        s = st.study
        head = f"{s.study_date or 'undated'} · {s.modality or '?'} · {s.description or 'study'}"
        parts.append(f'<tr class="tl-study"><th colspan="3">{escape(head)}</th></tr>')
        parts += [_row_html(row, picked) for row in st.rows]
    parts.append("</table>")
    return "".join(parts)


def _compare_html(pairs: list[Comparison]) -> str:
    if not pairs:
        return '<p class="tl-hint">One study: nothing to compare with yet.</p>'
    buttons = "".join(
        f'<button class="tl-compare" data-act="compare" data-key="{escape(p.key)}" '
        f'title="{escape(str(p.prior.study_date))} vs {escape(str(p.latest.study_date))}">'
        f"Latest vs prior · {escape(p.label)}</button>" for p in pairs)
    return f'<div class="tl-compares">{buttons}</div>'
