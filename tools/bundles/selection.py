"""Choosing a MONAI bundle expert for an image: by name, or automatically by task and image."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from mimir.tools.analysis.imaging import ImageData
from mimir.tools.bundles.workflow import BundleInfo, check_input, discover_bundles, normalize_modality
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle

if TYPE_CHECKING:
    from mimir.settings import Settings

Task = Literal["segmentation", "classification"]


def bundles_for(settings: Settings, task: Task) -> list[BundleInfo]:
    """The trusted bundles of one task."""
    return [b for b in discover_bundles(settings) if b.task == task]


def availability(task: Task) -> Callable[[Settings], str | None]:
    """An availability check: a reason when no bundle of ``task`` is installed."""

    def check(settings: Settings) -> str | None:
        if bundles_for(settings, task):
            return None
        dirs = ", ".join(str(d) for d in settings.expert_dirs)
        return f"no {task} bundle (a folder with configs/metadata.json) in {dirs}"

    return check


def pick_bundle(settings: Settings, task: Task, image: ImageData, expert: str | None) -> BundleInfo:
    """The named bundle (checked against the image), else the best fitting one.

    Best fitting: one that declares the image's modality, then one of the image's own dimensions; in
    folder order among equals.
    """
    bundles = bundles_for(settings, task)
    if expert is not None:
        named = [b for b in bundles if b.name == expert]
        if not named:
            known = ", ".join(b.name for b in bundles) or "none"
            raise ToolArgumentError(f"Unknown {task} expert '{expert}'; installed: {known}")
        check_input(named[0], image)
        return named[0]
    fitting, refusals = [], []
    for b in bundles:
        try:
            check_input(b, image)
            fitting.append(b)
        except ToolCannotHandle as e:
            refusals.append(str(e))
    if not fitting:
        modality = normalize_modality(image.modality) or "unknown modality"
        dirs = ", ".join(str(d) for d in settings.expert_dirs)
        detail = "; ".join(refusals) or "no bundles installed"
        raise ToolCannotHandle(
            f"no {task} expert for a {image.dims}D {modality} image in {dirs} ({detail})"
        )
    modality = normalize_modality(image.modality)
    # best first: the image's modality declared, then its own dimensions (a 3D expert for a volume
    # before a 2D expert that would take it slice by slice)
    return min(fitting, key=lambda b: (not (modality and modality in b.modalities), b.dims != image.dims))
