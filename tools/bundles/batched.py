"""A bundle's leading post transforms run once on a whole batch, with the results they give per image.

MONAI's evaluator decollates a network pass and runs the post transforms image by image. The first
of them are often an activation (``Activationsd`` with softmax or sigmoid) and ``Invertd`` undoing
a ``Resized`` of the preprocessing; per image each is a few small torch operations plus MONAI's
bookkeeping, and on a busy CPU every small operation pays torch's thread-pool dispatch. Both are
the same arithmetic per image and channel, so the engine runs them on the batch tensor: one softmax
for the batch, and one resize per group of images of one original size, done as MONAI's ``Resize``
does it (``torch.nn.functional.interpolate``, same mode and corners). Upsampling by a whole factor
in ``area`` or ``nearest`` mode copies each value into a block of pixels (each output pixel averages
exactly one input pixel), so it is done as that copy, in the image's own post-processing thread;
a per-pixel step after it (an argmax over the channels) gives the same labels before the copy as
after it, so the engine runs it first, on the smaller grid. The transforms after these run per image.

Anything else (other transforms, other keys, an image whose preprocessing recorded operations other
than one ``Resize``) leaves those transforms to run per image as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Interpolation modes whose whole-factor upsampling copies values into blocks.
_BLOCK_COPY_MODES = ("area", "nearest", "nearest-exact")


@dataclass(frozen=True)
class BatchPost:
    """What runs on a batch: the activation (``softmax``/``sigmoid``/None) and whether ``Invertd`` does."""

    activation: str | None
    invert: bool

    @property
    def skipped(self) -> int:
        """How many leading post transforms this plan runs (the rest run per image)."""
        return int(self.activation is not None) + int(self.invert)

    def activate(self, logits: Any) -> Any:
        """The activation on a batch (channels on axis 1), as ``Activations`` computes it per image."""
        import torch

        scores = logits.as_tensor() if hasattr(logits, "as_tensor") else logits
        scores = scores.float()
        if self.activation == "softmax":
            return torch.softmax(scores, dim=1)
        if self.activation == "sigmoid":
            return torch.sigmoid(scores)
        return scores


def plan(post: list[Any], preprocessing: Any) -> BatchPost:
    """The leading transforms of ``post`` that can run on a batch (softmax or sigmoid, then ``Invertd``)."""
    activation = _activation(post[0]) if post else None
    rest = post[1:] if activation is not None else post
    return BatchPost(activation, bool(rest) and _plain_invert(rest[0], preprocessing))


def _activation(t: Any) -> str | None:
    if type(t).__name__ != "Activationsd" or tuple(t.keys) != ("pred",):
        return None
    conv = t.converter
    if conv.other is not None or conv.kwargs.get("dim", 0) != 0 or any(t.other) or len(t.keys) != 1:
        return None
    sigmoid, softmax = bool(t.sigmoid[0] or conv.sigmoid), bool(t.softmax[0] or conv.softmax)
    if sigmoid == softmax:  # neither (a no-op we leave alone) or both (an error MONAI raises)
        return None
    return "softmax" if softmax else "sigmoid"


def _plain_invert(t: Any, preprocessing: Any) -> bool:
    """An ``Invertd`` of ``pred`` against the image's preprocessing, as written in mimir's bundles."""
    if type(t).__name__ != "Invertd" or tuple(t.keys) != ("pred",) or tuple(t.orig_keys) != ("image",):
        return False
    return (t.transform is preprocessing and not any(t.nearest_interp) and all(t.to_tensor)
            and all(d is None for d in t.device) and all(f is None for f in t.post_func))


def resize_op(image: Any) -> dict[str, Any] | None:
    """The one ``Resize`` an image's preprocessing recorded, or None when it recorded anything else."""
    ops = getattr(image, "applied_operations", None)
    pending = getattr(image, "pending_operations", None)
    if not ops or len(ops) != 1 or pending:
        return None
    op = ops[0]
    info = op.get("extra_info", {})
    if op.get("class") != "Resize" or op.get("lazy") or info.get("new_dim", 0) != 0:
        return None
    return op


@dataclass(frozen=True)
class BlockCopy:
    """One image's scores whose inversion is a whole-factor copy into blocks, left to its post-processing thread.

    ``values`` makes the copy. A per-pixel function of the channels (an argmax) gives the same
    result before the copy as after it, on a fraction of the pixels, so it may run first.
    """

    scores: Any  # (C, *spatial) in the dtype the resize recorded
    factors: tuple[int, ...]
    image: Any  # the preprocessed image, whose affine the result's is computed from
    size: tuple[int, ...]
    align: bool

    def values(self, per_pixel: Callable[[np.ndarray], np.ndarray] | None = None) -> Any:
        """The scores (or ``per_pixel`` of them) on the image's original grid, as a MetaTensor."""
        import torch
        from monai.data import MetaTensor

        values = torch.from_numpy(self.array(per_pixel))
        return MetaTensor(values, affine=self.affine(), meta={"spatial_shape": np.asarray(self.size)})

    def array(self, per_pixel: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """The scores (or ``per_pixel`` of them) on the image's original grid, as an array."""
        array = self.scores.float().numpy()
        if per_pixel is not None:
            array = per_pixel(array)
        for axis, f in enumerate(self.factors, start=1):
            array = np.repeat(array, f, axis=axis) if f > 1 else array
        return np.ascontiguousarray(array)

    def affine(self) -> Any:
        """The affine of the image's original grid (as ``Invertd`` restores it)."""
        return _original_affine(self.image, self.size, self.align)


def inverted(scores: Any, images: list[Any]) -> list[Any] | None:
    """Each image's scores (C, *spatial) brought back to its original size; None if one can't be.

    A whole-factor block copy is left as a ``BlockCopy`` for the image's own thread.
    """
    ops = [resize_op(im) for im in images]
    if any(op is None for op in ops):
        return None
    out: list[Any] = [None] * len(images)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, op in enumerate(ops):
        assert op is not None
        info = op["extra_info"]
        groups.setdefault((tuple(int(s) for s in op["orig_size"]), info["mode"], str(info["align_corners"]),
                           info["dtype"]), []).append(i)
    for (size, mode, corners, dtype), idx in groups.items():
        align = None if corners == "none" else corners == "True"  # MONAI traces a missing value as "none"
        factors = _block_factors(tuple(int(s) for s in scores.shape[2:]), size, mode)
        if factors is not None:
            import torch

            cast = None if factors == (1,) * len(size) else getattr(torch, dtype)
            for i in idx:  # each image's own view of the batch (a copy only where the dtype changes)
                out[i] = BlockCopy(scores[i] if cast is None else scores[i].to(cast), factors, images[i], size,
                                   bool(align))
            continue
        for i, resized in zip(idx, _resize(scores[idx], size, mode, align, dtype), strict=True):
            out[i] = _with_meta(resized, images[i], size, bool(align))
    return out


def _block_factors(current: tuple[int, ...], size: tuple[int, ...], mode: str) -> tuple[int, ...] | None:
    """The whole factors by which ``mode`` upsamples ``current`` to ``size`` by copying blocks, else None."""
    factors = tuple(o // i if o % i == 0 else 0 for o, i in zip(size, current, strict=True))
    if current != size and (mode not in _BLOCK_COPY_MODES or any(f < 1 for f in factors)):
        return None
    return factors


def _resize(batch: Any, size: tuple[int, ...], mode: str, align: bool | None, dtype: str) -> Any:
    """``batch`` (N, C, *spatial) resized to ``size`` as MONAI's ``Resize`` resizes each image (not by blocks)."""
    import torch
    from monai.transforms.utils import resolves_modes

    data = batch.to(getattr(torch, dtype))
    _, torch_mode, _, _ = resolves_modes(mode, torch_interpolate_spatial_nd=len(size))
    return torch.nn.functional.interpolate(data, size=size, mode=torch_mode, align_corners=align).float()


def _with_meta(resized: Any, image: Any, size: tuple[int, ...], align: bool) -> Any:
    """The resized scores as a MetaTensor on the image's original grid (its affine before the resize)."""
    from monai.data import MetaTensor

    return MetaTensor(resized, affine=_original_affine(image, size, align), meta={"spatial_shape": np.asarray(size)})


def _original_affine(image: Any, size: tuple[int, ...], align: bool) -> Any:
    """The affine of ``image`` (resized) brought back to its original ``size``."""
    affine = image.affine
    return affine @ _scaling(len(affine) - 1, tuple(int(s) for s in image.shape[1:]), size, align, affine.dtype)


@functools.lru_cache(maxsize=256)
def _scaling(dims: int, spatial: tuple[int, ...], size: tuple[int, ...], align: bool, dtype: Any) -> Any:
    """The affine taking a grid of shape ``spatial`` to one of ``size`` (as ``Invertd`` computes it); read only.

    Kept per sizes: a batch of images of a few sizes asks for the same few matrices again and again.
    """
    import torch
    from monai.data.utils import to_affine_nd
    from monai.transforms.utils import scale_affine

    return torch.as_tensor(to_affine_nd(dims, scale_affine(spatial, size, align_corners=align)), dtype=dtype)
