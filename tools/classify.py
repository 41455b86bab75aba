"""The ``classify`` tool: run a MONAI bundle classification expert on one case image."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from mimir.tools.bundle_declarations import declarations
from mimir.tools.cache import InputHasher
from mimir.tools.context import ToolContext
from mimir.tools.errors import ToolCannotHandle
from mimir.tools.experts_select import availability, pick_bundle
from mimir.tools.imaging import load_image
from mimir.tools.monai_bundle import read_predictions, run_bundle, torch_device
from mimir.tools.ood.assess import OodAssessment
from mimir.tools.ood.gate import calibrated, check_distribution
from mimir.tools.runner import FindingSpec

if TYPE_CHECKING:
    from mimir.tools.registry import Registry


class ClassifyArgs(BaseModel):
    """Arguments of ``classify``."""

    image_index: int = Field(description="Index of the case image to classify (0-based)")
    expert: str | None = Field(
        default=None, description="Bundle name; omit to pick one by the image's modality and dimensions"
    )


class ClassifyResult(BaseModel):
    """The most probable label and every label's probability (temperature-scaled when the bundle has one)."""

    expert: str
    image_index: int
    ood: OodAssessment | None = Field(default=None, description="How like the expert's training images the input is")
    label: str
    probability: float
    probabilities: dict[str, float]
    predictions_path: str
    findings: list[FindingSpec] = Field(default_factory=list)


def classify(args: ClassifyArgs, ctx: ToolContext) -> ClassifyResult:
    """Classify one case image with a MONAI bundle expert; returns the label and all probabilities."""
    case_image = ctx.image(args.image_index)
    image = load_image(case_image.path, case_image.modality)
    bundle = pick_bundle(ctx.settings, "classification", image, args.expert)
    ood = check_distribution(bundle.name, bundle.root, image.path)
    out_dir = ctx.artifacts_dir / "classify" / bundle.name / InputHasher().hash(image.path)[:16]
    run_bundle(bundle, image.path, out_dir, torch_device(ctx.settings))
    csv_path = out_dir / "predictions.csv"
    if not csv_path.is_file():
        raise ToolCannotHandle(f"expert '{bundle.name}' wrote no predictions.csv (bundle contract)")
    probs = calibrated(bundle.root, read_predictions(csv_path))
    named = {bundle.label_name(i): round(p, 4) for i, p in enumerate(probs)}
    best = max(named, key=lambda k: named[k])
    return ClassifyResult(
        expert=bundle.name, image_index=args.image_index, ood=ood, label=best, probability=named[best],
        probabilities=named, predictions_path=str(csv_path),
        findings=[FindingSpec(label=f"{bundle.name}: {best}", value=named[best], unit="probability",
                              image_indices=[args.image_index])],
    )


def register(registry: Registry) -> None:
    """Add ``classify`` to ``registry``."""
    registry.tool(
        classify, version="2", modalities=("CT", "MR", "FUNDUS", "XR", "MG"), dims=(2, 3),
        availability=availability("classification"), tags=("expert", "classification"),
        capabilities=declarations("classification"),
    )
