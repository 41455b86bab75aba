"""An answer as a Comprehensive 3D SR holding a TID 1500 measurement report (highdicom).

Per segmentation result (one image, one visit) the report has one measurement group per segment of
its SEG (TID 1411, referencing the whole segment, as dcmqi writes them; for a single-slice image the
segment is that one frame): the index lesion and each label, with a tracking identifier that is the same at every
visit (so viewers line the visits up), the finding type and site, the visit's date as time point,
measured values with UCUM units, and the tool and its version as the algorithm. The question, the
answer and each evidence statement follow as text in the report's Qualitative Evaluations.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import highdicom as hd
from pydicom import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from mimir import __version__
from mimir.domain import Answer, Case
from mimir.results import codes as rc
from mimir.results.seg import INDEX, SegObject, algorithm_name, tracking_uid
from mimir.results.sources import SegRun
from mimir.tools.analysis.geometry import LabelMeasurement

SR_SERIES_NUMBER = 9702


def _algorithm(run: SegRun) -> hd.sr.AlgorithmIdentification:
    return hd.sr.AlgorithmIdentification(name=algorithm_name(run)[:64], version=run.version,
                                         parameters=[f"mimir {__version__}"])


def _measure(name: hd.sr.CodedConcept, value: float, unit: hd.sr.CodedConcept, run: SegRun) -> hd.sr.Measurement:
    return hd.sr.Measurement(name=name, value=float(value), unit=unit, algorithm_id=_algorithm(run))


def _label_values(m: LabelMeasurement, run: SegRun) -> list[hd.sr.Measurement]:
    out = []
    if m.area_mm2 is not None:
        out.append(_measure(rc.AREA, m.area_mm2, rc.MM2, run))
    if m.volume_ml is not None:
        out.append(_measure(rc.VOLUME, m.volume_ml, rc.ML, run))
    if m.longest_diameter_mm > 0:
        out.append(_measure(rc.LONG_AXIS, m.longest_diameter_mm, rc.MM, run))
    if m.perpendicular_diameter_mm > 0:
        out.append(_measure(rc.SHORT_AXIS, m.perpendicular_diameter_mm, rc.MM, run))
    return out


def _values(name: str, run: SegRun) -> list[hd.sr.Measurement]:
    if name == INDEX and run.index_lesion is not None:
        lesion = run.index_lesion
        size = (rc.AREA, rc.MM2) if lesion.unit == "mm2" else (rc.VOLUME, rc.ML)
        out = [_measure(size[0], lesion.size, size[1], run)]
        if lesion.longest_diameter_mm > 0:
            out.append(_measure(rc.LONG_AXIS, lesion.longest_diameter_mm, rc.MM, run))
        return out
    return [v for m in run.measurements if m.label == name for v in _label_values(m, run)]


def _group(seg: SegObject, name: str, number: int, patient_key: str) -> hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations:
    first = seg.source.first
    site = rc.site(seg.source.body_part or first.get("BodyPartExamined"))
    day = str(first.get("StudyDate", "") or "")
    common: dict[str, Any] = dict(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(patient_key, name), identifier=name[:64]),
        time_point_context=hd.sr.TimePointContext(time_point=f"{day[:4]}-{day[4:6]}-{day[6:]}" if day else "unknown"),
        finding_type=rc.finding_type(name), algorithm_id=_algorithm(seg.run),
        finding_sites=[hd.sr.FindingSite(site)] if site is not None else None,
        measurements=_values(name, seg.run) or None,
    )
    whole = hd.sr.ReferencedSegment.from_segmentation(seg.dataset, segment_number=number)
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(referenced_segment=whole, **common)


def summary_lines(case: Case, answer: Answer) -> list[tuple[hd.sr.CodedConcept, str]]:
    """The question, the answer and each evidence statement, as (concept, text)."""
    said = answer.text if answer.status == "ok" else f"{answer.status}: {answer.abstain_reason or answer.text}"
    if answer.letter and not said.startswith(f"{answer.letter}:"):
        said = f"{answer.letter}: {said}"
    lines = [(rc.REQUEST, case.question), (rc.IMPRESSION, said)]
    for ev in answer.evidence:
        values = ", ".join(f"{k}={v}" for k, v in ev.values.items())
        lines.append((rc.FINDING_TEXT, ev.statement + (f" ({values})" if values else "")))
    tools = "; ".join(f"{s.tool} {s.status} {s.duration_s:.2f} s" for s in answer.steps)
    if tools:
        lines.append((codes.DCM.Comment, f"tools: {tools}; mimir {__version__}"))
    return lines


def _qualitative(lines: list[tuple[hd.sr.CodedConcept, str]]) -> hd.sr.ContainerContentItem:
    box = hd.sr.ContainerContentItem(name=rc.QUALITATIVE, relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
    box.ContentSequence = Sequence([hd.sr.TextContentItem(name=c, value=text, relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
                           for c, text in lines])
    return box


def build_sr(case: Case, answer: Answer, segs: list[SegObject], evidence: list[Dataset], patient_key: str) -> hd.sr.Comprehensive3DSR:
    """The answer's TID 1500 report; ``evidence`` are the source instances, newest study first."""
    groups = [_group(s, name, n, patient_key) for s in segs for name, n in s.segments.items()]
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=generate_uid(entropy_srcs=["mimir-device"]), name="mimir", manufacturer_name="mimir",
        model_name=f"mimir {__version__}"[:64])
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device, observer_identifying_attributes=device)),
        procedure_reported=rc.PROCEDURE, imaging_measurements=groups or None,
    )
    root = report[0]
    root.ContentSequence.append(_qualitative(summary_lines(case, answer)))
    objects = [*evidence, *(s.dataset for s in segs)]
    first = evidence[0]
    return hd.sr.Comprehensive3DSR(
        evidence=objects, content=root,
        series_instance_uid=generate_uid(entropy_srcs=["mimir-sr-series", str(first.StudyInstanceUID)]),
        series_number=SR_SERIES_NUMBER, sop_instance_uid=_sr_uid(case, answer, objects), instance_number=1,
        manufacturer="mimir", is_complete=True, is_final=False, series_description="mimir measurement report",
    )


def _sr_uid(case: Case, answer: Answer, objects: list[Dataset]) -> str:
    """Derived from the question, the answer and the objects referenced: the same export, the same UID."""
    body = json.dumps([case.question, answer.model_dump(mode="json", exclude={"timings"}),
                       sorted(str(o.SOPInstanceUID) for o in objects)], sort_keys=True, default=str)
    return str(generate_uid(entropy_srcs=["mimir-sr", hashlib.sha256(body.encode()).hexdigest()]))
