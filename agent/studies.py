"""A patient's studies as the planner sees them, and the comparable image in each.

Comparable means: the same modality, the same MR sequence in every study (the one the question
names, else the one the segmenting capability reads best), and an image of a dimension that
capability takes: the whole volume when it segments volumes, else the key slice (a single-image
series), else the same slice of a multi-slice series.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select

from mimir import vocabulary as voc
from mimir.domain import CaseImage
from mimir.tools.framework.capabilities import canonical_modality

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Single-image formats, best first: DICOM carries its headers (dates, spacing) with it.
_FORMATS = ("dicom", "nifti", "png", "jpeg")


@dataclass(frozen=True)
class ImageRow:
    """One timeline image."""

    image_id: int
    path: str
    file_format: str
    n_slices: int | None
    instance_number: int | None

    @property
    def dims(self) -> int:
        """3 for a volume in one file, else 2."""
        return 3 if (self.n_slices or 1) > 1 else 2


@dataclass(frozen=True)
class SeriesRow:
    """One series with its images (in instance order)."""

    series_id: int
    description: str | None
    sequence: str | None
    modality: str | None
    laterality: str | None
    view: str | None
    body_part: str | None
    images: tuple[ImageRow, ...]


@dataclass(frozen=True)
class StudyRow:
    """One study of the patient, with its series."""

    study_id: int
    study_date: date | None
    modality: str | None
    description: str | None
    body_part: str | None
    series: tuple[SeriesRow, ...]

    def label(self) -> str:
        """'MR study of 2015-11-22 (MRI BRAIN ...)' for people."""
        what = f" ({self.description})" if self.description else ""
        return f"{self.modality or 'unknown-modality'} study of {self.study_date or 'unknown date'}{what}"


def load_studies(session: Session, patient_pk: int) -> list[StudyRow]:
    """Every study of a patient, earliest first, with series and images (paths and sizes only)."""
    from mimir.memory.models import Image, Series, Study

    studies = list(session.scalars(select(Study).where(Study.patient_id == patient_pk)
                                   .order_by(Study.study_date.is_(None), Study.study_date, Study.study_time, Study.id)))
    rows = session.execute(
        select(Series.study_id, Series.id, Series.description, Series.sequence, Series.modality, Series.laterality,
               Series.view, Series.body_part, Image.id, Image.storage_path, Image.file_format, Image.n_slices,
               Image.instance_number)
        .join(Image, Image.series_id == Series.id).where(Series.study_id.in_([s.id for s in studies]))
        .order_by(Series.id, Image.instance_number, Image.id)).all()
    series: dict[int, dict[int, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        series[r[0]][r[1]].append(tuple(r))
    out = []
    for s in studies:
        members = [SeriesRow(sid, m[0][2], m[0][3], m[0][4], m[0][5], m[0][6], m[0][7],
                             tuple(ImageRow(x[8], x[9], x[10], x[11], x[12]) for x in m))
                   for sid, m in series[s.id].items()]
        out.append(StudyRow(s.id, s.study_date, canonical_modality(s.modality), s.description, s.body_part, tuple(members)))
    return out


def series_sequence(series: SeriesRow) -> str | None:
    """The MR sequence of a series (its own field, else read from its description)."""
    return voc.sequence_of(series.sequence) or voc.sequence_of(series.description)


@dataclass(frozen=True)
class Pick:
    """The image chosen in one study, and why."""

    study: StudyRow
    series: SeriesRow
    image: ImageRow
    how: str

    def case_image(self) -> CaseImage:
        """The pick as a case image with its timeline metadata."""
        lat = self.series.laterality if self.series.laterality in ("L", "R", "B") else None
        return CaseImage(path=self.image.path, image_id=self.image.image_id, study_date=self.study.study_date,
                         modality=self.series.modality or self.study.modality, series_description=self.series.description,
                         view=self.series.view, laterality=lat,
                         body_part=self.series.body_part or self.study.body_part)


def _candidates(study: StudyRow, sequence: str | None) -> list[SeriesRow]:
    if sequence is None:
        return list(study.series)
    return [s for s in study.series if series_sequence(s) == sequence]


def common_sequence(studies: list[StudyRow], wanted: str | None, prefers: tuple[str, ...]) -> str | Literal[False] | None:
    """The MR sequence to compare on: the one asked, else the first preferred (or any) that every study has.

    None when sequences do not apply (no study has MR sequences); False when no sequence is common.
    """
    have = [{series_sequence(s) for s in st.series} - {None} for st in studies]
    if not any(have):
        return None
    common = set.intersection(*have) if have else set()
    if wanted is not None:
        return wanted if wanted in common else False
    for seq in (*prefers, *sorted(str(c) for c in common)):
        if seq in common:
            return seq
    return False


def pick_images(studies: list[StudyRow], sequence: str | None, dims: set[int]) -> list[Pick] | str:
    """The comparable image of each study, or why there is none.

    A volume when every study has one and 3D is taken; else the key slice (a single-image series,
    DICOM before PNG); else the same instance of a multi-slice series (the middle one where sizes differ).
    """
    if not dims or 3 in dims:
        volumes = [_volume(st, sequence) for st in studies]
        if all(v is not None for v in volumes):
            return [v for v in volumes if v is not None]
    if dims and 2 not in dims:
        return "the tools that can measure this take volumes, and not every study has one"
    picks: list[Pick] = []
    for st in studies:
        single = [(s, s.images[0]) for s in _candidates(st, sequence) if len(s.images) == 1 and s.images[0].dims == 2]
        single.sort(key=lambda p: _FORMATS.index(p[1].file_format) if p[1].file_format in _FORMATS else len(_FORMATS))
        if single:
            picks.append(Pick(st, single[0][0], single[0][1], "key slice"))
            continue
        stacks = [s for s in _candidates(st, sequence) if len(s.images) > 1]
        if not stacks:
            return f"the {st.label()} has no {sequence + ' ' if sequence else ''}image that can be measured"
        series = stacks[0]
        picks.append(Pick(st, series, series.images[len(series.images) // 2], "middle slice of the series"))
    return picks


def _volume(study: StudyRow, sequence: str | None) -> Pick | None:
    for s in _candidates(study, sequence):
        for im in s.images:
            if im.dims == 3:
                return Pick(study, s, im, "whole volume")
    return None
