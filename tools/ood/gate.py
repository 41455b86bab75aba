"""The check every expert result passes: an out-of-distribution input is declined, not answered."""

from __future__ import annotations

from pathlib import Path

from mimir.tools.errors import ToolCannotHandle
from mimir.tools.ood.assess import OodAssessment, assess, loaded
from mimir.tools.ood.calibration import rescale


def check_distribution(bundle_name: str, bundle_root: Path, image: Path) -> OodAssessment:
    """The input's assessment; ToolCannotHandle (with the reason in words) when it is out of distribution."""
    ood = assess(bundle_root, image)
    if ood.verdict == "out":
        raise ToolCannotHandle(f"expert '{bundle_name}' declined: the image is unlike its training images "
                               f"({ood.reason}; in-distribution score {ood.score:.2f})")
    return ood


def calibrated(bundle_root: Path, probabilities: list[float]) -> list[float]:
    """The bundle's probabilities scaled by its fitted temperature (unchanged when it has none)."""
    pair = loaded(bundle_root)
    if pair is None or pair[1].temperature is None:
        return list(probabilities)
    return [float(p) for p in rescale(probabilities, pair[1].temperature)]
