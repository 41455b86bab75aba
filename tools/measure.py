"""The ``measure`` tool: sizes, diameters, intensity and components of a mask's labels, in 2D or 3D."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, model_validator

from mimir.tools.analysis.geometry import LabelMeasurement, squeeze_to
from mimir.tools.analysis.imaging import load_image, load_mask
from mimir.tools.framework.cache import store_for
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle
from mimir.tools.framework.runner import FindingSpec
from mimir.tools.segment import MaskReport, report_mask

if TYPE_CHECKING:
    from pathlib import Path

    from mimir.tools.framework.registry import Registry


class MeasureArgs(BaseModel):
    """Arguments of ``measure``: an image and either a segmentation run or a mask file."""

    image_index: int = Field(description="Index of the case image the mask belongs to (0-based)")
    segment_run_id: int | None = Field(default=None, description="tool_run_id of a segment/totalsegmentator call")
    mask_path: str | None = Field(default=None, description="A label mask file (NIfTI, PNG), instead of a run id")
    spacing_mm: list[float] | None = Field(
        default=None, description="Pixel spacing for images without one (PNG); default 1 mm"
    )

    @model_validator(mode="after")
    def _one_mask(self) -> MeasureArgs:
        if (self.segment_run_id is None) == (self.mask_path is None):
            raise ValueError("give exactly one of segment_run_id or mask_path")
        return self


class MeasureResult(MaskReport):
    """Per-label measurements, the index lesion and the disease status, with the spacing used and its source."""

    image_index: int
    mask_path: str
    dims: int
    spacing_mm: list[float]
    spacing_source: str
    intensity_unit: str
    findings: list[FindingSpec] = Field(default_factory=list)


def _mask_from_run(ctx: ToolContext, run_id: int) -> tuple[str, dict[int, str]]:
    run = store_for(ctx).get(run_id)
    if run is None:
        raise ToolArgumentError(f"Unknown segment_run_id {run_id}; use the tool_run_id a segmentation returned")
    path = run.output.get("mask_path") or next((a for a in run.artifacts if a.endswith(".nii.gz")), None)
    if path is None:
        raise ToolArgumentError(f"tool run {run_id} ({run.tool}) produced no mask; it is not a segmentation")
    names = {int(m["value"]): m["label"] for m in run.output.get("measurements", []) if "value" in m}
    names.update({int(k): v for k, v in (run.output.get("label_names") or {}).items()})
    return path, names


def measure(args: MeasureArgs, ctx: ToolContext) -> MeasureResult:
    """Measure every label of a mask on its image (a slice, a volume or a DICOM series).

    Area (mm², 2D) or volume (mL, 3D), longest in-plane diameter and its longest perpendicular (mm),
    for volumes the craniocaudal extent, mean/std intensity (HU for CT) and connected components (3D
    for volumes); the index lesion with its three diameters and per-label sizes, and whether there
    is measurable disease (RANO/RECIST: two diameters >= 10 mm). Give a segmentation's tool_run_id or
    a mask file path.
    """
    case_image = ctx.image(args.image_index)
    image = load_image(case_image.path, case_image.modality)
    path, names = (_mask_from_run(ctx, args.segment_run_id) if args.segment_run_id is not None
                   else (str(args.mask_path), {}))
    mask = squeeze_to(load_mask(path), image.spatial_shape)
    if mask.shape != image.spatial_shape:
        raise ToolCannotHandle(
            f"mask {_name(path)} has shape {tuple(mask.shape)} but image {image.path.name} has "
            f"shape {image.spatial_shape}; they do not belong together"
        )
    spacing, source = image.spacing, image.spacing_source
    if args.spacing_mm and image.spacing_source.startswith("default"):
        spacing, source = tuple(args.spacing_mm) * (1 if len(args.spacing_mm) > 1 else mask.ndim), "given spacing_mm"
    elif args.spacing_mm:
        source += " (spacing_mm ignored: the file has its own)"
    report = report_mask(mask, image, names, spacing)
    return MeasureResult(
        image_index=args.image_index, mask_path=path, dims=mask.ndim, spacing_mm=list(spacing),
        spacing_source=source, intensity_unit="HU" if image.modality == "CT" else "image units",
        findings=[f for m in report.measurements for f in _findings(m, args.image_index)], **report.model_dump(),
    )


def _name(path: str | Path) -> str:
    return str(path).rsplit("/", 1)[-1]


def _findings(m: LabelMeasurement, index: int) -> list[FindingSpec]:
    size = (FindingSpec(label=f"{m.label} volume", location=m.label, value=m.volume_ml, unit="mL",
                        image_indices=[index]) if m.volume_ml is not None else
            FindingSpec(label=f"{m.label} area", location=m.label, value=m.area_mm2, unit="mm2",
                        image_indices=[index]))
    diameter = FindingSpec(label=f"{m.label} longest diameter", location=m.label,
                           value=m.longest_diameter_mm, unit="mm", image_indices=[index])
    return [size, diameter]


def register(registry: Registry) -> None:
    """Add ``measure`` to ``registry``."""
    registry.tool(measure, version="2", dims=(2, 3), tags=("measurement",))
