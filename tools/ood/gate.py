"""The check every expert result passes: an out-of-distribution input is declined, not answered."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimir.tools.framework.errors import ToolCannotHandle
from mimir.tools.ood.assess import (
    NO_FINGERPRINT,
    OodAssessment,
    assess,
    assess_groups,
    has_fingerprint,
    loaded,
)
from mimir.tools.ood.calibration import rescale

if TYPE_CHECKING:
    from mimir.tools.analysis.imaging import ImageData
    from mimir.tools.bundles.engine import ExpertEngine, Prediction
    from mimir.tools.bundles.workflow import BundleInfo

#: The words every declined input's message carries (the review screen reads them to badge the step).
DECLINED = "declined: the image is unlike its training images"


def check_distribution(bundle_name: str, bundle_root: Path, image: Path) -> OodAssessment:
    """The input's assessment; ToolCannotHandle (with the reason in words) when it is out of distribution."""
    return _declined_if_out(bundle_name, assess(bundle_root, image))


def _declined_if_out(bundle_name: str, ood: OodAssessment) -> OodAssessment:
    if ood.verdict == "out":
        raise ToolCannotHandle(f"expert '{bundle_name}' {DECLINED} "
                               f"({ood.reason}; in-distribution score {ood.score:.2f})")
    return ood


#: Axial slices of a volume scored when a 2D expert runs over it (evenly spaced through the volume).
VOLUME_SLICES_SCORED = 8


def check_input(bundle: BundleInfo, image: ImageData) -> OodAssessment:
    """:func:`check_distribution` for what an expert is given; a volume under a 2D expert on its most typical slice.

    Fingerprints are fitted on single key slices at the level of a lesion. A 2D expert run over a
    volume reads every axial slice, and most of them (skull base, vertex, the air around the head)
    never looked like the fitted slices, while any one slice picked by a rule (the widest) may be
    one of those. So evenly spaced slices are scored as the expert sees them (on its field-of-view
    canvas) and the volume takes the verdict of the most typical one: a volume of the kind the
    expert was trained on holds slices like its training slices, a wrong input (another modality,
    noise, a photograph) holds none. The image-size check is left out: mimir sizes the canvas itself
    from the volume's spacing.
    """
    if not (bundle.slice_wise and len(image.spatial_shape) == 3):
        return check_distribution(bundle.name, bundle.root, image.path)
    return _declined_if_out(bundle.name, volume_assessment(bundle, image))


def checked_prediction(bundle: BundleInfo, engine: ExpertEngine, image: ImageData) -> tuple[Prediction, OodAssessment]:
    """The expert's prediction on one 2D image and the check of its input (:func:`check_input`), from one pass.

    The fingerprint's numbers come from the expert's own network pass on the image (its deepest
    activation and preprocessed input), so the check costs no second pass. An inferer that never
    runs the network on the whole input (a sliding window) gets the check's own pass instead.
    An input out of distribution is declined (ToolCannotHandle) before its result is used.
    """
    wanted = has_fingerprint(bundle.root)
    pred = engine.predict([image.path], fingerprint=wanted)[0]
    if not wanted:
        return pred, NO_FINGERPRINT.model_copy()
    if pred.fingerprint is None:
        return pred, check_input(bundle, image)
    return pred, _declined_if_out(bundle.name, assess_groups(bundle.root, pred.fingerprint))


def volume_assessment(bundle: BundleInfo, image: ImageData) -> OodAssessment:
    """The assessment of a volume under a 2D expert (its most typical scored slice), without declining it."""
    from mimir.tools.bundles.slicewise import grey_volume, slice_jobs, spread, to_lps

    vol = to_lps(grey_volume(image), image.affine)
    jobs = spread(slice_jobs(vol, bundle.fov_mm, image.path.name), VOLUME_SLICES_SCORED)
    if not jobs:
        raise ToolCannotHandle(f"{image.path.name} holds no picture (every slice is constant)")
    scored = [(assess(bundle.root, job.tensor, skip=("geometry",)), job) for job in jobs]
    ood, job = min(scored, key=lambda pair: max(pair[0].ratios.values(), default=0.0))
    if ood.verdict == "unknown":
        return ood
    return ood.model_copy(update={"reason": f"{ood.reason} (axial slice {job.z + 1} of {vol.array.shape[2]}, "
                                            f"the most typical of {len(jobs)} scored)"})


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
