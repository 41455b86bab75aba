"""``mimir export --dicom``: an answer's segmentations as SEG, its measurements and evidence as SR, and a summary.

One export holds one patient's objects: if the answer's DICOM images belong to more than one
patient, nothing is written. Each result that cannot become DICOM (a PNG or NIfTI source, a source
file that is gone, an empty mask) is listed with the reason; the rest is still written.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydicom import Dataset
from sqlalchemy.orm import Session

from mimir.domain import Answer, Case
from mimir.memory.db import Database
from mimir.results.export_errors import MixedPatients
from mimir.results.seg import SegObject, build_seg
from mimir.results.sources import Refused, seg_run, source_series
from mimir.results.sr import build_sr, summary_lines

__all__ = ["DicomExport", "MixedPatients", "build_objects", "export_answer"]
log = logging.getLogger(__name__)


class ExportedObject(BaseModel):
    """One file an export wrote."""

    kind: Literal["SEG", "SR", "TEXT"]
    path: str
    sop_instance_uid: str | None = None
    study_uid: str | None = None
    tool_run_id: int | None = None


class RefusedObject(BaseModel):
    """A result that was not written as DICOM, and why."""

    kind: Literal["SEG", "SR"]
    reason: str
    tool_run_id: int | None = None


class DicomExport(BaseModel):
    """What ``export_answer`` wrote and refused (and, after STOW-RS, what the PACS stored)."""

    patient_id: str | None
    out_dir: str
    objects: list[ExportedObject] = Field(default_factory=list)
    refused: list[RefusedObject] = Field(default_factory=list)
    stored: list[str] = Field(default_factory=list, description="SOP Instance UIDs the PACS accepted")


def _segs(session: Session, case: Case, answer: Answer, patient_key: str, refused: list[RefusedObject]) -> list[SegObject]:
    out: list[SegObject] = []
    seen: set[int] = set()
    for step in answer.steps:
        run_id = step.tool_run_id
        if run_id is None or run_id in seen or step.status not in ("ok", "cached"):
            continue
        seen.add(run_id)
        try:
            run = seg_run(session, run_id)
        except Refused:
            continue  # not a segmentation (a comparison, a classification): nothing to encode as SEG
        try:
            image = case.images[step.image_indices[0]] if step.image_indices else None
            source = source_series(session, image.path if image else None, image.image_id if image else None,
                                   run.input_hash)
            out.append(build_seg(run, source, patient_key))
        except Refused as e:
            refused.append(RefusedObject(kind="SEG", tool_run_id=run_id, reason=str(e)))
    return out


def _case_sources(session: Session, case: Case) -> list[Dataset]:
    """The DICOM instances of the case's images that the timeline knows."""
    found: list[Dataset] = []
    for image in case.images:
        try:
            found += source_series(session, image.path, image.image_id, None).datasets
        except Refused:
            continue
    return found


def _newest_first(datasets: list[Dataset]) -> list[Dataset]:
    """Unique instances, newest study first (the SR joins that study)."""
    unique = {str(d.SOPInstanceUID): d for d in datasets}
    return sorted(unique.values(), key=lambda d: (str(d.get("StudyDate", "")), str(d.get("StudyTime", ""))),
                  reverse=True)


def _one_patient(case: Case, evidence: list[Dataset]) -> str | None:
    ids = sorted({str(d.PatientID) for d in evidence})
    if len(ids) > 1 or (ids and case.patient_id and ids[0] != case.patient_id):
        named = sorted({*ids, *([case.patient_id] if case.patient_id else [])})
        raise MixedPatients(f"the answer's images belong to patients {', '.join(named)}; an export holds one "
                            "patient's objects")
    return ids[0] if ids else case.patient_id


class Built(BaseModel):
    """A SEG or SR dataset, before it is written."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: Literal["SEG", "SR"]
    dataset: Dataset
    tool_run_id: int | None = None


def build_objects(db: Database, case: Case, answer: Answer) -> tuple[DicomExport, list[Built]]:
    """The SEG and SR datasets of an answer (not yet written), with what was refused.

    Raises ``MixedPatients`` when the answer's images belong to more than one patient.
    """
    refused: list[RefusedObject] = []
    with db.session() as s:
        sources = _case_sources(s, case)
        patient = _one_patient(case, sources)
        segs = _segs(s, case, answer, patient or "", refused)
        evidence = _newest_first([*sources, *(d for g in segs for d in g.source.datasets)])
    _one_patient(case, evidence)
    built = [Built(kind="SEG", dataset=g.dataset, tool_run_id=g.run.run_id) for g in segs]
    if evidence:
        built.append(Built(kind="SR", dataset=build_sr(case, answer, segs, evidence, patient or "")))
    else:
        refused.append(RefusedObject(kind="SR", reason="none of the answer's images is a DICOM instance in the "
                                     "timeline: a DICOM SR must reference the images it reports on"))
    return DicomExport(patient_id=patient, out_dir="", refused=refused), built


def export_answer(db: Database, case: Case, answer: Answer, out_dir: Path) -> tuple[DicomExport, list[Dataset]]:
    """Write the answer's SEG and SR files and a plain-text summary under ``out_dir``."""
    report, built = build_objects(db, case, answer)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.out_dir = str(out_dir)
    for b in built:
        ds = b.dataset
        path = out_dir / f"{b.kind.lower()}_{ds.SOPInstanceUID}.dcm"
        ds.save_as(path, enforce_file_format=True)
        report.objects.append(ExportedObject(kind=b.kind, path=str(path), sop_instance_uid=str(ds.SOPInstanceUID),
                                             study_uid=str(ds.StudyInstanceUID), tool_run_id=b.tool_run_id))
    summary = out_dir / "summary.txt"
    summary.write_text(_summary(case, answer, report))
    report.objects.append(ExportedObject(kind="TEXT", path=str(summary)))
    log.info("exported %d DICOM objects to %s (%d refused)", len(built), out_dir, len(report.refused))
    return report, [b.dataset for b in built]


def _summary(case: Case, answer: Answer, report: DicomExport) -> str:
    lines = [f"Patient: {report.patient_id or 'anonymous'}"]
    lines += [f"{concept.meaning}: {text}" for concept, text in summary_lines(case, answer)]
    lines += [f"{o.kind} {o.sop_instance_uid} (study {o.study_uid})" for o in report.objects if o.kind != "TEXT"]
    lines += [f"not written as {r.kind}: {r.reason}" for r in report.refused]
    return "\n".join(lines) + "\n"
