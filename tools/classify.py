"""The ``classify`` tool: a MONAI bundle classification expert on a slice, a volume or a DICOM series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from mimir.tools.analysis.imaging import ImageData, file_stem, load_image
from mimir.tools.bundles.declarations import declarations
from mimir.tools.bundles.engine import ENGINES
from mimir.tools.bundles.selection import availability, models_state, pick_bundle
from mimir.tools.bundles.series import series_source
from mimir.tools.bundles.slicewise import classify_slices
from mimir.tools.bundles.workflow import BundleInfo, torch_device
from mimir.tools.framework.cache import InputHasher
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolCannotHandle
from mimir.tools.framework.runner import FindingSpec
from mimir.tools.ood.assess import OodAssessment
from mimir.tools.ood.gate import calibrated, check_input, checked_prediction

if TYPE_CHECKING:
    from mimir.tools.framework.registry import Registry


class ClassifyArgs(BaseModel):
    """Arguments of ``classify``."""

    image_index: int = Field(description="Index of the case image to classify (0-based): a slice, a volume or a series")
    expert: str | None = Field(
        default=None, description="Bundle name; omit to pick one by the image's modality and dimensions"
    )
    whole_series: bool = Field(
        default=False, description="For one slice of a DICOM series in the timeline: classify the whole series"
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
    slices: int | None = Field(default=None, description="Volume: axial slices whose probabilities were averaged")
    findings: list[FindingSpec] = Field(default_factory=list)


def run_classification(bundle: BundleInfo, image: ImageData, device: str) -> tuple[np.ndarray, int | None, OodAssessment]:
    """Class probabilities in label order, the slices averaged (None but for a volume) and the input's check.

    A volume under a 2D expert averages its axial slices. An input out of distribution is declined
    (ToolCannotHandle).
    """
    engine = ENGINES.get(bundle, device)
    if bundle.slice_wise and len(image.spatial_shape) == 3:
        ood = check_input(bundle, image)
        return (*classify_slices(engine, image, bundle.fov_mm), ood)
    pred, ood = checked_prediction(bundle, engine, image)
    if pred.probabilities is None or len(pred.probabilities) == 0:
        raise ToolCannotHandle(f"expert '{bundle.name}' gave no probabilities for {image.path.name} (bundle contract)")
    return pred.probabilities, None, ood


def classify(args: ClassifyArgs, ctx: ToolContext) -> ClassifyResult:
    """Classify one case image with a MONAI bundle expert; returns the label and all probabilities.

    A volume or series given to a 2D expert is classified on its axial slices through the bulk of the
    subject, and their probabilities are averaged.
    """
    case_image = ctx.image(args.image_index)
    path = series_source(ctx, args.image_index) if args.whole_series else Path(case_image.path)
    image = load_image(path, case_image.modality)
    bundle = pick_bundle(ctx.settings, "classification", image, args.expert)
    probs, slices, ood = run_classification(bundle, image, torch_device(ctx.settings))
    probs = np.asarray(calibrated(bundle.root, [float(p) for p in probs]))
    named = {bundle.label_name(i): round(float(p), 4) for i, p in enumerate(probs)}
    best = max(named, key=lambda k: named[k])
    out = ctx.artifacts_dir / "classify" / bundle.name / InputHasher().hash(image.path)[:16] / "predictions.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"image": file_stem(image.path), "probabilities": named, "slices": slices}))
    return ClassifyResult(
        expert=bundle.name, image_index=args.image_index, ood=ood, label=best, probability=named[best],
        probabilities=named, predictions_path=str(out), slices=slices,
        findings=[FindingSpec(label=f"{bundle.name}: {best}", value=named[best], unit="probability",
                              image_indices=[args.image_index])],
    )


def register(registry: Registry) -> None:
    """Add ``classify`` to ``registry``."""
    registry.tool(
        classify, version="2", modalities=("CT", "MR", "FUNDUS", "XR", "MG"), dims=(2, 3),
        availability=availability("classification"), model_state=models_state("classification"),
        tags=("expert", "classification"),
        capabilities=declarations("classification"),
    )
