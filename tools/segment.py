"""The ``segment`` tool: a MONAI bundle segmentation expert on a slice, a volume or a DICOM series."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from mimir.tools.analysis.geometry import (
    Disease,
    IndexLesion,
    LabelMeasurement,
    Memo,
    assessment,
    disease,
    index_lesion,
    measure_mask,
)
from mimir.tools.analysis.imaging import ImageData, file_stem, image_data, load_image, write_mask
from mimir.tools.bundles.declarations import declarations
from mimir.tools.bundles.engine import ENGINES, ExpertEngine, Prediction
from mimir.tools.bundles.selection import availability, models_state, pick_bundle
from mimir.tools.bundles.series import series_source
from mimir.tools.bundles.slicewise import grey_volume, segment_slices, to_lps
from mimir.tools.bundles.workflow import BundleInfo, torch_device
from mimir.tools.framework.cache import InputHasher
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolCannotHandle
from mimir.tools.framework.runner import FindingSpec
from mimir.tools.ood.assess import OodAssessment
from mimir.tools.ood.gate import check_input, checked_prediction

if TYPE_CHECKING:
    from mimir.tools.framework.registry import Registry


class SegmentArgs(BaseModel):
    """Arguments of ``segment``."""

    image_index: int = Field(description="Index of the case image to segment (0-based): a slice, a volume or a series")
    expert: str | None = Field(
        default=None, description="Bundle name; omit to pick one by the image's modality and dimensions"
    )
    whole_series: bool = Field(
        default=False, description="For one slice of a DICOM series in the timeline: segment the whole series (3D)"
    )


class MaskReport(BaseModel):
    """What a mask measures on its image: per-label sizes, the index lesion and the disease status."""

    measurements: list[LabelMeasurement]
    index_lesion: IndexLesion | None = Field(
        default=None, description="Largest connected lesion (the target followed over visits); None if empty"
    )
    disease: Disease = Field(default="none", description="none, non-measurable (below 10 x 10 mm) or measurable")
    assessment: str = Field(default="no lesion", description="The disease status in words")


class SegmentResult(MaskReport):
    """Labels found, the mask file and per-label size."""

    expert: str
    image_index: int
    ood: OodAssessment | None = Field(default=None, description="How like the expert's training images the input is")
    limits: dict[str, str] = Field(default_factory=dict, description="What the expert's card says it misses, by reading")
    labels_present: list[str]
    mask_path: str
    shape: list[int]
    spacing_mm: list[float]
    spacing_source: str
    dims: int = Field(default=2, description="2 for a slice, 3 for a volume or series")
    slice_wise: bool = Field(default=False, description="A 2D expert run slice by slice over a volume")
    findings: list[FindingSpec] = Field(default_factory=list)


def report_mask(mask: np.ndarray, image: ImageData, labels: dict[int, str], spacing: tuple[float, ...] | None = None) -> MaskReport:
    """Measure ``mask`` on ``image``; a volume is measured in LPS order (axial slices along the last axis)."""
    spacing = spacing or image.spacing
    gray = grey_volume(image)
    if mask.ndim == 3:
        lps = to_lps(mask, image.affine)
        gray = to_lps(gray, image.affine).array if gray.shape == mask.shape else gray
        mask, spacing = lps.array, lps.spacing
    memo: Memo = {}  # a region measured for the index lesion is not measured again for its label
    target = index_lesion(mask, spacing, labels, memo)
    return MaskReport(measurements=measure_mask(mask, spacing, labels, gray if gray.shape == mask.shape else None, memo),
                      index_lesion=target, disease=disease(target), assessment=assessment(target))


#: Mask writers shared by every call (started on first use): a mask is written while it is measured.
_WRITERS: list[ThreadPoolExecutor] = []
_WRITERS_LOCK = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    with _WRITERS_LOCK:
        if not _WRITERS:
            _WRITERS.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="mimir-mask"))
        return _WRITERS[0]


def save_and_measure(mask: np.ndarray, image: ImageData, labels: dict[int, str], path: Path) -> tuple[Path, MaskReport]:
    """Write ``mask`` once (NIfTI, in the image's geometry) while it is measured; both done on return."""
    written = _writer().submit(write_mask, mask, image.affine, path)
    report = report_mask(mask, image, labels)
    return written.result(), report


def image_mask(name: str, pred: Prediction, image: ImageData) -> np.ndarray:
    """A prediction's mask in the image's spatial shape, or ToolCannotHandle when the bundle broke its contract."""
    mask = pred.mask
    if mask is None or int(np.prod(mask.shape)) != int(np.prod(image.spatial_shape)):
        raise ToolCannotHandle(f"expert '{name}' returned a mask of shape {getattr(mask, 'shape', None)} for "
                               f"{image.path.name} of shape {image.spatial_shape} (bundle contract)")
    return mask.reshape(image.spatial_shape)


def run_segmentation(bundle: BundleInfo, image: ImageData, device: str,
                     ctx: ToolContext | None = None) -> tuple[np.ndarray, OodAssessment]:
    """The label mask of ``image`` in its own voxel order, and the check of the input.

    The mask comes natively, or slice by slice for a 2D expert. An input out of distribution is
    declined (ToolCannotHandle).
    """
    engine = ENGINES.get(bundle, device)
    if bundle.slice_wise and len(image.spatial_shape) == 3:
        ood = check_input(bundle, image)
        report = (lambda f: ctx.report(0.1 + 0.8 * f, f"{bundle.name}: slices")) if ctx else None
        return segment_slices(engine, image, bundle.fov_mm, report), ood
    pred, ood = checked_prediction(bundle, engine, image)
    return image_mask(bundle.name, pred, image), ood


def segment_files(engine: ExpertEngine, paths: Sequence[Path], out_dir: Path,
                  batch_size: int = 16) -> list[tuple[Path, MaskReport]]:
    """Several slices through one expert in batches: (mask file, report) per path, in order.

    Each image is read once (by the expert's loader, whose pixels are measured when they are the
    file's own), its mask written once (NIfTI, in the image's geometry) to ``out_dir/<stem>_seg.nii.gz``
    and measured in the engine's worker threads as soon as its post transforms end, while the next
    network pass runs.
    """
    def finish(i: int, pred: Prediction) -> tuple[Path, MaskReport]:
        # the pixels the bundle read when they are the file's own, else a read of the file
        source = pred.source
        image = image_data(paths[i], source.array, source.meta) if source is not None else load_image(paths[i])
        mask = image_mask(engine.bundle.name, pred, image)
        return save_and_measure(mask, image, engine.bundle.labels, out_dir / f"{file_stem(paths[i])}_seg.nii.gz")

    return engine.predict_each(list(paths), finish, batch_size)


def segment(args: SegmentArgs, ctx: ToolContext) -> SegmentResult:
    """Segment one case image with a MONAI bundle expert (mimir's own or a trusted user bundle).

    The image may be a slice (PNG, DICOM), a volume (NIfTI) or a DICOM series: a 2D expert runs
    slice by slice over a volume. Returns the labels present, the mask file (NIfTI, in the image's
    geometry), each label's area (mm², 2D) or volume (mL, 3D), the index lesion with its diameters
    and whether it is measurable disease. Results are cached by image content.
    """
    case_image = ctx.image(args.image_index)
    path = series_source(ctx, args.image_index) if args.whole_series else Path(case_image.path)
    image = load_image(path, case_image.modality)
    bundle = pick_bundle(ctx.settings, "segmentation", image, args.expert)
    ctx.report(0.1, f"running {bundle.name}")
    mask, ood = run_segmentation(bundle, image, torch_device(ctx.settings), ctx)
    out_dir = ctx.artifacts_dir / "segment" / bundle.name / InputHasher().hash(image.path)[:16]
    mask_file, report = save_and_measure(mask, image, bundle.labels, out_dir / f"{file_stem(image.path)}_seg.nii.gz")
    return SegmentResult(
        expert=bundle.name, image_index=args.image_index, ood=ood, limits=bundle.limits, labels_present=[m.label for m in report.measurements],
        mask_path=str(mask_file), shape=list(mask.shape), spacing_mm=list(image.spacing),
        spacing_source=image.spacing_source, dims=mask.ndim, slice_wise=bundle.slice_wise and mask.ndim == 3,
        findings=[_finding(m, args.image_index) for m in report.measurements], **report.model_dump(),
    )


def _finding(m: LabelMeasurement, index: int) -> FindingSpec:
    if m.volume_ml is not None:
        return FindingSpec(label=f"{m.label} volume", location=m.label, value=m.volume_ml, unit="mL",
                           image_indices=[index])
    return FindingSpec(label=f"{m.label} area", location=m.label, value=m.area_mm2, unit="mm2",
                       image_indices=[index])


def register(registry: Registry) -> None:
    """Add ``segment`` to ``registry``."""
    registry.tool(
        segment, version="3", modalities=("CT", "MR", "FUNDUS", "XR", "MG"), dims=(2, 3),
        availability=availability("segmentation"), model_state=models_state("segmentation"),
        tags=("expert", "segmentation"),
        capabilities=declarations("segmentation"),
    )
