"""The brain lesion expert's resection reading: residual enhancing tumour on post-operative T1C key images.

mimir reads "partial" versus "gross-total" resection from one post-operative T1C key image: the enhancing
part of the index lesion (largest connected lesion) the expert finds, partial above ``RESIDUAL_MIN_MM2``.
This scores exactly that decision on fresh operated lesions (every lesion operated: half gross-total,
half keeping 0.2 to 0.6 of their enhancing rim, :func:`mimir.demo.brain.random_tumour`), cut through the
lesion centre as the demo's key images are, on brains never used in training (``EVAL_POOL``), at the demo's
256 x 256 (1 mm pixels), written as 8-bit PNG files and run through the bundle's own ``inference.json``.

Figures: ``rim_miss_rate``, the share of residual rims larger than ``RIM_MIN_MM2`` on the slice read as
gross-total (at most ``RESIDUAL_MIN_MM2`` found); ``gross_total_read_partial_rate``, the share of gross-total
resections (no enhancing voxel left) read as partial; ``rim_found_ratio``, the median found / true rim
area; ``dice_enhancing_rims``; and the counts (``rims``, ``gross_total``, ``thin_rims``: rims of at most
``RIM_MIN_MM2``, counted but not scored).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from mimir.tools.analysis.geometry import RESIDUAL_MIN
from mimir.tools.experts.bundle import read_mask, run_bundle
from mimir.tools.experts.data import EVAL_POOL
from mimir.tools.experts.evaluate import EVAL_SIZE, dice, training_seeds, write_png
from mimir.tools.experts.train import bundle_dir

#: The planner's reading: at most this much residual enhancing tumour on a key image is gross-total.
RESIDUAL_MIN_MM2 = RESIDUAL_MIN["mm2"]
#: A residual rim this large (mm² on the key slice) is one the expert must not miss.
RIM_MIN_MM2 = 40.0
#: The experts this covers: a T1C segmenter with an enhancing-tumour label 2.
EXPERTS = ("brain_mri_lesion_seg",)
_LABELS = {1: "non-enhancing lesion", 2: "enhancing tumour"}


class ResectionReport(BaseModel):
    """The resection reading of expert ``expert`` on ``n`` operated key slices drawn with ``seed``."""

    expert: str
    seed: int
    n: int
    metrics: dict[str, float] = Field(description="rim miss rate, gross-total read partial, counts")


def operated_key_slices(seed: int, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` post-operative (T1C image, 0/1/2 label) key slices at 256 x 256 from ``default_rng(seed)``."""
    from mimir.demo.brain import mri_slice_sample

    rng = np.random.default_rng(seed)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    while len(out) < n:
        images, label = mri_slice_sample(rng, size=EVAL_SIZE, pool=EVAL_POOL, postop_share=1.0, key=True)
        if label.any():  # about 1 draw in 6 holds no lesion at all
            out.append((images["T1C"], label))
    return out


def residual_mm2(mask: np.ndarray) -> float:
    """Enhancing area (mm², 1 mm pixels) of the index lesion of a 0/1/2 mask, as the planner reads it."""
    from mimir.tools.analysis.geometry import index_lesion

    target = index_lesion(mask, (1.0, 1.0), _LABELS)
    return 0.0 if target is None else float(target.enhancing_size)


def evaluate_resection(name: str, seed: int, n: int = 200, bundle: Path | None = None) -> ResectionReport:
    """Score the resection reading of expert ``name`` (shipped bundle, or ``bundle``) on ``n`` operated key slices."""
    if name not in EXPERTS:
        raise ValueError(f"The resection figures cover {', '.join(EXPERTS)}; not {name!r}")
    root = bundle or bundle_dir(name)
    if seed in training_seeds(root):
        raise ValueError(f"Seed {seed} was used to train {name}; pick another (training seeds: {training_seeds(root)})")
    samples = operated_key_slices(seed, n)
    with tempfile.TemporaryDirectory(prefix=f"mimir-resection-{name}-") as tmp:
        paths = [write_png(image, Path(tmp) / f"img{i:04d}.png") for i, (image, _) in enumerate(samples)]
        out = Path(tmp) / "out"
        run_bundle(root, paths, out)
        masks = [read_mask(out, p).T for p in paths]  # MONAI layout back to the picture's (rows, columns)
    return ResectionReport(expert=name, seed=seed, n=len(samples), metrics=_score(samples, masks))


def _score(samples: list[tuple[np.ndarray, np.ndarray]], masks: list[np.ndarray]) -> dict[str, float]:
    missed: list[bool] = []
    ratio: list[float] = []
    rim_dice: list[float] = []
    read_partial: list[bool] = []
    thin = 0
    for (_, truth), pred in zip(samples, masks, strict=True):
        true_rim = float((truth == 2).sum())
        found = residual_mm2(pred)
        if true_rim == 0:
            read_partial.append(found > RESIDUAL_MIN_MM2)
        elif true_rim > RIM_MIN_MM2:
            missed.append(found <= RESIDUAL_MIN_MM2)
            ratio.append(found / true_rim)
            rim_dice.append(dice(pred == 2, truth == 2))
        else:
            thin += 1
    nan = float("nan")
    return {
        "rims": float(len(missed)), "rim_miss_rate": float(np.mean(missed)) if missed else nan,
        "rim_found_ratio": float(np.median(ratio)) if ratio else nan,
        "dice_enhancing_rims": float(np.mean(rim_dice)) if rim_dice else nan,
        "gross_total": float(len(read_partial)),
        "gross_total_read_partial_rate": float(np.mean(read_partial)) if read_partial else nan,
        "thin_rims": float(thin),
    }
