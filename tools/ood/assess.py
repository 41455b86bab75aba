"""Score one expert input against its bundle's fingerprint: a score, a verdict and the reason in words."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from mimir.tools.ood import fingerprint as fpr
from mimir.tools.ood.features import FeatureExtractor, bundle_task

Verdict = Literal["in", "borderline", "out", "unknown"]


class OodAssessment(BaseModel):
    """How like the expert's fitted images an input is."""

    score: float | None = Field(description="Share of the expert's held-out images at least as unusual (1 = typical)")
    verdict: Verdict
    reason: str
    ratios: dict[str, float] = Field(default_factory=dict, description="Per check: distance over its threshold")


def _stamp(bundle_root: Path) -> tuple[float, float]:
    models = Path(bundle_root) / "models"
    return tuple(p.stat().st_mtime if p.exists() else 0.0  # type: ignore[return-value]
                 for p in (models / "model.pt", models / fpr.FILE))


@functools.lru_cache(maxsize=16)
def _loaded(root: str, _stamp: tuple[float, float]) -> tuple[FeatureExtractor, fpr.Fingerprint] | None:
    fp = fpr.load(Path(root))
    return None if fp is None else (FeatureExtractor(Path(root), bundle_task(Path(root))), fp)


def loaded(bundle_root: Path) -> tuple[FeatureExtractor, fpr.Fingerprint] | None:
    """The bundle's extractor and fingerprint (built once per weights and fingerprint file), or None."""
    root = Path(bundle_root).resolve()
    return _loaded(str(root), _stamp(root))


#: The assessment of an input to an expert without a fingerprint.
NO_FINGERPRINT = OodAssessment(score=None, verdict="unknown",
                               reason="the expert has no fingerprint (mimir experts fingerprint)")


def judge(fp: fpr.Fingerprint, ratios: dict[str, float]) -> OodAssessment:
    """Verdict and reason from the per-group ratios."""
    worst = max(ratios.values())
    verdict: Verdict = "in" if worst <= 1.0 else "borderline" if worst <= fpr.OUT_RATIO else "out"
    unusual = sorted((g for g, r in ratios.items() if r > 1.0), key=lambda g: -ratios[g])
    reason = ("like the expert's training images" if not unusual
              else "; ".join(f"{fpr.REASONS[g]} ({_times(ratios[g])} its usual range)" for g in unusual))
    return OodAssessment(score=round(fp.score(worst), 4), verdict=verdict, reason=reason,
                         ratios={g: round(r, 3) for g, r in ratios.items()})


def _times(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio < 100 else "over 100x"


def assess(bundle_root: Path, image: Path | str | Any, skip: tuple[str, ...] = ()) -> OodAssessment:
    """Assess ``image`` (a file, or a loaded picture) for the bundle; ``unknown`` when it has no fingerprint.

    ``skip`` names checks left out (a picture mimir built itself at a chosen size has no size to check).
    """
    pair = loaded(bundle_root)
    if pair is None:
        return NO_FINGERPRINT.model_copy()
    extractor, fp = pair
    return _judged(fp, extractor.measure(image).groups, skip)


def assess_groups(bundle_root: Path, groups: dict[str, np.ndarray], skip: tuple[str, ...] = ()) -> OodAssessment:
    """:func:`assess` of numbers already measured (an expert's own pass gave them, see ``ExpertEngine.predict``)."""
    pair = loaded(bundle_root)
    return NO_FINGERPRINT.model_copy() if pair is None else _judged(pair[1], groups, skip)


def has_fingerprint(bundle_root: Path) -> bool:
    """Whether the bundle has a fingerprint to check its inputs against."""
    return loaded(bundle_root) is not None


def _judged(fp: fpr.Fingerprint, groups: dict[str, np.ndarray], skip: tuple[str, ...]) -> OodAssessment:
    ratios = fp.ratios(groups)
    return judge(fp, {g: r for g, r in ratios.items() if g not in skip})
