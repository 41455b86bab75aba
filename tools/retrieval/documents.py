"""What the index holds, read from the timeline: one text document per study, representative images.

A study's document is its modality, body part and description, its series descriptions, its report
texts and its findings (label, location, value, unit). Each document carries a digest, so an update
re-embeds exactly the studies whose content changed. Images are represented by one image per series
(the middle instance), so a 300-slice series adds one vector, not 300.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mimir.memory.models import Finding, Image, Patient, Report, Series, Study


@dataclass
class ImageRef:
    """A series' representative image."""

    image_id: int
    path: str
    modality: str | None
    laterality: str | None


@dataclass
class StudyDoc:
    """One study as the index sees it."""

    study_id: int
    patient_id: int
    study_date: date | None
    modality: str | None
    body_part: str | None
    laterality: str | None
    text: str
    images: list[ImageRef] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """Changes whenever the study's text or its representative images change."""
        key = f"{self.text}|{self.study_date}|{self.patient_id}|{[i.image_id for i in self.images]}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]


def _finding_text(f: Finding) -> str:
    value = f" {f.value:g} {f.unit or ''}".rstrip() if f.value is not None else ""
    where = f" ({f.location})" if f.location else ""
    return f"{f.label}{where}{value}"


def _study_text(study: Study, series: list[Series], reports: list[str], findings: list[Finding]) -> str:
    head = " ".join(x for x in (study.modality, study.body_part, study.description) if x)
    parts = [head or "study"]
    series_desc = sorted({s.description for s in series if s.description})
    if series_desc:
        parts.append("Series: " + "; ".join(series_desc))
    parts.extend(f"Report: {r}" for r in reports)
    if findings:
        parts.append("Findings: " + "; ".join(_finding_text(f) for f in findings))
    return ". ".join(parts)


def _representatives(session: Session, study_ids: list[int]) -> dict[int, list[ImageRef]]:
    rows = session.execute(
        select(Series.study_id, Series.id, Series.modality, Series.laterality, Image.id, Image.storage_path,
               Image.instance_number)
        .join(Image, Image.series_id == Series.id)
        .where(Series.study_id.in_(study_ids))
        .order_by(Series.id, Image.instance_number, Image.id)
    ).all()
    by_series: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for row in rows:
        by_series[(row[0], row[1])].append(row)
    out: dict[int, list[ImageRef]] = defaultdict(list)
    for (study_id, _), members in sorted(by_series.items()):
        mid = members[len(members) // 2]
        out[study_id].append(ImageRef(mid[4], mid[5], mid[2], mid[3]))
    return out


def study_documents(session: Session, study_ids: list[int] | None = None) -> list[StudyDoc]:
    """Documents of ``study_ids`` (all studies when None), in id order."""
    stmt = select(Study).order_by(Study.id)
    if study_ids is not None:
        stmt = stmt.where(Study.id.in_(study_ids))
    studies = list(session.scalars(stmt))
    ids = [s.id for s in studies]
    series: dict[int, list[Series]] = defaultdict(list)
    reports: dict[int, list[str]] = defaultdict(list)
    findings: dict[int, list[Finding]] = defaultdict(list)
    for chunk in _chunks(ids):
        for s in session.scalars(select(Series).where(Series.study_id.in_(chunk)).order_by(Series.id)):
            series[s.study_id].append(s)
        for r in session.scalars(select(Report).where(Report.study_id.in_(chunk)).order_by(Report.id)):
            reports[r.study_id].append(r.text)
        for f in session.scalars(select(Finding).where(Finding.study_id.in_(chunk)).order_by(Finding.id)):
            findings[f.study_id or 0].append(f)
    images: dict[int, list[ImageRef]] = {}
    for chunk in _chunks(ids):
        images.update(_representatives(session, chunk))
    return [_doc(s, series[s.id], reports[s.id], findings[s.id], images.get(s.id, [])) for s in studies]


def _doc(study: Study, series: list[Series], reports: list[str], findings: list[Finding],
         images: list[ImageRef]) -> StudyDoc:
    sides = {s.laterality for s in series if s.laterality}
    laterality = sides.pop() if len(sides) == 1 else ("B" if sides else None)
    return StudyDoc(
        study_id=study.id, patient_id=study.patient_id, study_date=study.study_date,
        modality=(study.modality or "").upper() or None, body_part=(study.body_part or "").upper() or None,
        laterality=laterality, text=_study_text(study, series, reports, findings), images=images,
    )


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def fingerprint(session: Session) -> dict[str, list[int]]:
    """A cheap summary of the timeline that changes when studies, reports, findings or images do.

    Per table: row count, max id, sum of ids, and the total length of the indexed text column.
    """
    text_cols: dict[Any, Any] = {
        Patient: None, Study: Study.description, Series: Series.description, Image: Image.storage_path,
        Report: Report.text, Finding: Finding.label,
    }
    out: dict[str, list[int]] = {}
    for model, col in text_cols.items():
        length = func.coalesce(func.sum(func.length(col)), 0) if col is not None else func.count()
        row = session.execute(
            select(func.count(), func.coalesce(func.max(model.id), 0), func.coalesce(func.sum(model.id), 0), length)
        ).one()
        out[model.__tablename__] = [int(v) for v in row]
    value_sum = session.scalar(select(func.coalesce(func.sum(Finding.value), 0.0))) or 0.0
    dates = session.scalar(select(func.count(func.distinct(Study.study_date)))) or 0
    out["values"] = [int(round(float(value_sum) * 1000)), int(dates)]
    return out


def describe_change(old: dict[str, list[int]], new: dict[str, list[int]]) -> str:
    """A short account of what moved between two fingerprints."""
    names = ("count", "max id", "id sum", "text length")
    changes = []
    for table in sorted(set(old) | set(new)):
        a, b = old.get(table, []), new.get(table, [])
        if a != b:
            diff = [f"{names[i] if i < len(names) else i} {x}->{y}" for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
            changes.append(f"{table} ({', '.join(diff) or 'changed'})")
    return "; ".join(changes) or "no change"
