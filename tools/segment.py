"""The ``segment`` tool: run a MONAI bundle segmentation expert on one case image."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from mimir.tools.bundle_declarations import declarations
from mimir.tools.cache import InputHasher
from mimir.tools.context import ToolContext
from mimir.tools.errors import ToolCannotHandle
from mimir.tools.experts_select import availability, pick_bundle
from mimir.tools.geometry import IndexLesion, LabelMeasurement, index_lesion, measure_mask, squeeze_to
from mimir.tools.imaging import load_image, load_mask
from mimir.tools.monai_bundle import run_bundle, segmentation_output, torch_device
from mimir.tools.ood.assess import OodAssessment
from mimir.tools.ood.gate import check_distribution
from mimir.tools.runner import FindingSpec

if TYPE_CHECKING:
    from mimir.tools.registry import Registry


class SegmentArgs(BaseModel):
    """Arguments of ``segment``."""

    image_index: int = Field(description="Index of the case image to segment (0-based)")
    expert: str | None = Field(
        default=None, description="Bundle name; omit to pick one by the image's modality and dimensions"
    )


class SegmentResult(BaseModel):
    """Labels found, the mask file and per-label size."""

    expert: str
    image_index: int
    ood: OodAssessment | None = Field(default=None, description="How like the expert's training images the input is")
    labels_present: list[str]
    mask_path: str
    shape: list[int]
    spacing_mm: list[float]
    spacing_source: str
    measurements: list[LabelMeasurement]
    index_lesion: IndexLesion | None = Field(
        default=None, description="Largest connected lesion (the target followed over visits); None if empty"
    )
    findings: list[FindingSpec] = Field(default_factory=list)


def segment(args: SegmentArgs, ctx: ToolContext) -> SegmentResult:
    """Segment one case image with a MONAI bundle expert (mimir's own or a trusted user bundle).

    Returns the labels present, the mask file (NIfTI) and each label's area (mm², 2D) or volume
    (mL, 3D). The same image is never segmented twice: results are cached by image content.
    """
    case_image = ctx.image(args.image_index)
    image = load_image(case_image.path, case_image.modality)
    bundle = pick_bundle(ctx.settings, "segmentation", image, args.expert)
    ood = check_distribution(bundle.name, bundle.root, image.path)
    out_dir = ctx.artifacts_dir / "segment" / bundle.name / InputHasher().hash(image.path)[:16]
    ctx.report(0.1, f"running {bundle.name}")
    run_bundle(bundle, image.path, out_dir, torch_device(ctx.settings))
    mask_file = segmentation_output(out_dir, image.path)
    if not mask_file.is_file():
        raise ToolCannotHandle(f"expert '{bundle.name}' wrote no mask {mask_file.name} (bundle contract)")
    mask = squeeze_to(load_mask(mask_file), image.spatial_shape)
    gray = image.array.mean(axis=-1) if image.channels > 1 else image.array
    measured = measure_mask(mask, image.spacing, bundle.labels, gray if gray.shape == mask.shape else None)
    return SegmentResult(
        expert=bundle.name, image_index=args.image_index, ood=ood, labels_present=[m.label for m in measured],
        mask_path=str(mask_file), shape=list(mask.shape), spacing_mm=list(image.spacing),
        spacing_source=image.spacing_source, measurements=measured,
        index_lesion=index_lesion(mask, image.spacing, bundle.labels),
        findings=[_finding(m, args.image_index) for m in measured],
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
        availability=availability("segmentation"), tags=("expert", "segmentation"),
        capabilities=declarations("segmentation"),
    )
