"""Per-image post transforms that are numpy functions of the prediction, run on the array itself.

mimir's own label transforms (:mod:`mimir.tools.experts.transforms`) each do their work in one
numpy function, ``on_array``; as MONAI transforms they also wrap the result back into a tensor
with its metadata, for the transform after them. When every transform left for an image is one of
these, the engine, which only needs the final array and its affine, calls ``on_array`` in turn.
A per-pixel one (``per_pixel``: each output pixel depends only on that pixel's channels, an
argmax) gives the same result before a block-copy inversion as after it, so it runs first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mimir.tools.bundles import batched


def as_numpy(value: Any) -> np.ndarray:
    """The array of a tensor, MetaTensor or array."""
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def array_steps(transforms: list[Any]) -> list[Any] | None:
    """``transforms`` if each is a numpy function of ``pred`` alone (``on_array``), else None."""
    if all(callable(getattr(t, "on_array", None)) and tuple(getattr(t, "keys", ())) == ("pred",) for t in transforms):
        return transforms
    return None


def array_result(pred: Any, steps: list[Any]) -> tuple[np.ndarray, Any]:
    """The prediction after ``steps`` and its affine; a ``BlockCopy`` gets its per-pixel steps before the copy."""
    if isinstance(pred, batched.BlockCopy):
        lead = _per_pixel_lead(steps)
        array, affine = pred.array(_chained(steps[:lead]) if lead else None), pred.affine()
        steps = steps[lead:]
    else:
        array, affine = as_numpy(pred), getattr(pred, "affine", None)
    for step in steps:
        array = step.on_array(array)
    return array, affine


def _per_pixel_lead(steps: list[Any]) -> int:
    """How many leading ``steps`` are per-pixel functions of the channels (they commute with copying pixels)."""
    n = 0
    while n < len(steps) and getattr(steps[n], "per_pixel", False):
        n += 1
    return n


def _chained(steps: list[Any]) -> Callable[[np.ndarray], np.ndarray]:
    def run(array: np.ndarray) -> np.ndarray:
        for step in steps:
            array = step.on_array(array)
        return array

    return run
