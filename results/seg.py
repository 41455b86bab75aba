"""A segmentation tool run as a DICOM Segmentation (SEG) that references its source series (highdicom).

One binary segment per label present in the mask, plus an "index lesion" segment (the largest
connected lesion, the one followed over visits) when the tool reported one. Each segment carries a
tracking UID derived from the patient and the segment's name, so the same lesion has the same
tracking UID at every visit, in the SEG and in the SR. UIDs are derived from the content: exporting
the same result twice gives the same SOP Instance UID, and a PACS keeps one copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import highdicom as hd
import numpy as np
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from mimir import __version__
from mimir.memory.hashing import file_hash
from mimir.results import codes as rc
from mimir.results.grid import GridMismatch, frames_from_mask
from mimir.results.sources import Refused, SegRun, SourceSeries, load_mask
from mimir.tools.analysis.geometry import largest_component

INDEX = "index lesion"
SEG_SERIES_NUMBER = 9701
MANUFACTURER = "mimir"


@dataclass
class SegObject:
    """A built SEG, the segment number of each segment name, and what it was made from."""

    dataset: hd.seg.Segmentation
    segments: dict[str, int]
    run: SegRun
    source: SourceSeries


def tracking_uid(patient_key: str, name: str) -> str:
    """The same UID for the same patient's finding at every visit (derived, not random)."""
    return str(generate_uid(entropy_srcs=["mimir-tracking", patient_key, name.lower()]))


def algorithm_name(run: SegRun) -> str:
    """The algorithm as reports name it: the tool and, for experts, the bundle."""
    return f"mimir {run.tool}" + (f" / {run.expert}" if run.expert else "")


def _segments(run: SegRun, frames: np.ndarray) -> list[tuple[str, np.ndarray]]:
    values = [int(v) for v in np.unique(frames) if v != 0]
    out = [(run.labels.get(v, f"label {v}"), frames == v) for v in values]
    if run.index_lesion is not None and values:
        out.append((INDEX, largest_component(frames > 0)[0]))
    return out


def _description(n: int, name: str, run: SegRun, patient_key: str, site: hd.sr.CodedConcept | None) -> hd.seg.SegmentDescription:
    category, kind = rc.property_type(name)
    return hd.seg.SegmentDescription(
        segment_number=n, segment_label=name[:64], segmented_property_category=category,
        segmented_property_type=kind, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            name=algorithm_name(run)[:64], family=codes.cid7162.ArtificialIntelligence, version=run.version,
            parameters={"mimir": __version__}),
        tracking_uid=tracking_uid(patient_key, name), tracking_id=name[:64],
        anatomic_regions=[site] if site is not None else None,
    )


def build_seg(run: SegRun, source: SourceSeries, patient_key: str) -> SegObject:
    """The SEG of one segmentation run on its source series; ``Refused`` with the reason when it cannot be."""
    mask, affine = load_mask(run)
    try:
        frames = frames_from_mask(mask, affine, source.datasets)
    except GridMismatch as e:
        raise Refused(f"tool run {run.run_id}: {e}") from e
    segments = _segments(run, frames)
    if not segments:
        raise Refused(f"the mask of tool run {run.run_id} is empty: a SEG needs at least one labelled pixel "
                      "(the report still states the measurement)")
    site = rc.site(source.body_part or source.first.get("BodyPartExamined"))
    first = source.first
    seg = hd.seg.Segmentation(
        source_images=source.datasets,
        pixel_array=np.stack([m for _, m in segments], axis=-1).astype(bool),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[_description(n, name, run, patient_key, site) for n, (name, _) in enumerate(segments, 1)],
        series_instance_uid=generate_uid(entropy_srcs=["mimir-seg-series", str(first.StudyInstanceUID), run.tool]),
        series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=generate_uid(entropy_srcs=["mimir-seg", str(first.SeriesInstanceUID), file_hash(run.mask_path),
                                                    run.tool, run.version]),
        instance_number=1, manufacturer=MANUFACTURER, manufacturer_model_name=algorithm_name(run)[:64],
        software_versions=__version__, device_serial_number="mimir",
        content_label="MIMIR_SEG", content_description=f"{algorithm_name(run)} (tool run {run.run_id})"[:64],
        series_description=f"mimir {run.tool} SEG"[:64],
    )
    return SegObject(seg, {name: n for n, (name, _) in enumerate(segments, 1)}, run, source)
