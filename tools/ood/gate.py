"""The check every expert result passes: an out-of-distribution input is declined, not answered."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimir.tools.errors import ToolCannotHandle
from mimir.tools.ood.assess import OodAssessment, assess, loaded
from mimir.tools.ood.calibration import rescale

if TYPE_CHECKING:
    from mimir.tools.imaging import ImageData
    from mimir.tools.monai_bundle import BundleInfo

#: The words every declined input's message carries (the review screen reads them to badge the step).
DECLINED = "declined: the image is unlike its training images"


def check_distribution(bundle_name: str, bundle_root: Path, image: Path) -> OodAssessment:
    """The input's assessment; ToolCannotHandle (with the reason in words) when it is out of distribution."""
    ood = assess(bundle_root, image)
    if ood.verdict == "out":
        raise ToolCannotHandle(f"expert '{bundle_name}' {DECLINED} "
                               f"({ood.reason}; in-distribution score {ood.score:.2f})")
    return ood


def check_input(bundle: BundleInfo, image: ImageData) -> OodAssessment:
    """:func:`check_distribution` for what an expert is given; a volume under a 2D expert is not scored.

    Fingerprints are fitted on single slices; a whole volume run slice by slice holds slices (skull
    base, vertex) that were never meant to look like them, so its verdict is ``unknown``, said so.
    """
    if bundle.slice_wise and len(image.spatial_shape) == 3:
        return OodAssessment(score=None, verdict="unknown",
                             reason="fingerprints describe single slices; a volume is not scored")
    return check_distribution(bundle.name, bundle.root, image.path)


def calibrated(bundle_root: Path, probabilities: list[float]) -> list[float]:
    """The bundle's probabilities scaled by its fitted temperature (unchanged when it has none)."""
    pair = loaded(bundle_root)
    if pair is None or pair[1].temperature is None:
        return list(probabilities)
    return [float(p) for p in rescale(probabilities, pair[1].temperature)]


def doubt(result: dict[str, Any] | None) -> str | None:
    """The doubt an answer states about an expert result whose input was borderline, else None."""
    found = result or {}
    ood = found.get("ood") or {}
    if ood.get("verdict") != "borderline":
        return None
    index = found.get("image_index")
    where = f"image {index + 1}" if isinstance(index, int) else "an image"
    return (f"{where} is a borderline input for expert '{found.get('expert', '?')}' ({ood.get('reason', '')}; "
            f"in-distribution score {float(ood.get('score') or 0.0):.2f})")
