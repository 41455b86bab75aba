"""A bundle's preprocessing after loading, run on the plain tensor where the engine knows the transform.

Per image, MONAI's dictionary transforms convert between ``MetaTensor`` and tensor, copy the
metadata at each step and send every torch operation through ``MetaTensor.__torch_function__``;
on a 256 x 256 slice that bookkeeping costs several times the arithmetic. The engine recognises
the transforms mimir's bundles use after loading (``EnsureChannelFirstd``, ``EnsureTyped``,
``ScaleIntensityd``, ``Resized``, each of the ``image`` key alone and with the settings checked
where they are recognised) and runs the torch functions MONAI runs (``rescale_array``,
``interpolate``; an ``area`` resize by whole factors as the same additions in numpy) on the plain
tensor, keeping the metadata MONAI keeps: the affine a ``Resize`` updates and its record among the
applied operations, which ``Invertd`` and the batched post transforms undo. The image ends as the
``MetaTensor`` MONAI gives, the same values bit for bit.

Any other transform runs as MONAI's own, in its place in the chain, on a ``MetaTensor``. An image a
known transform finds in a state it does not expect (lazy operations pending, a ``pixdim`` entry to
update, no channel information, tracing switched off) runs the whole chain through MONAI.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The key mimir's bundles preprocess.
KEY = "image"


class NotHere(Exception):
    """An image this fast path does not handle exactly as MONAI would: MONAI's chain runs instead."""


@dataclass
class Picture:
    """An image between steps: its plain tensor, its metadata and the operations applied so far."""

    data: Any  # torch.Tensor, channel first after the first step
    meta: dict[Hashable, Any]
    ops: list[dict[str, Any]]
    spatial_ndim: int  # the MetaTensor's own count, which MONAI's steps here carry over unchanged


def _keys_ok(t: Any) -> bool:
    return tuple(getattr(t, "keys", ())) == (KEY,) and not getattr(t, "allow_missing_keys", True)


def _channel_first(t: Any) -> Callable[[Picture], Picture] | None:
    adjuster = getattr(t, "adjuster", None)
    if type(t).__name__ != "EnsureChannelFirstd" or adjuster is None or adjuster.input_channel_dim is not None:
        return None

    from monai.data.utils import is_no_channel
    from monai.utils import MetaKeys

    def run(p: Picture) -> Picture:
        dim = p.meta.get(MetaKeys.ORIGINAL_CHANNEL_DIM)
        if dim is None:  # MONAI raises or warns here
            raise NotHere("no channel information")
        data = p.data[None] if is_no_channel(dim) else p.data.movedim(int(dim), 0)
        return Picture(data, p.meta, p.ops, p.spatial_ndim)

    return run


def _as_type(t: Any) -> Callable[[Picture], Picture] | None:
    import torch

    conv = getattr(t, "converter", None)
    dtypes = getattr(t, "dtype", None)
    if (type(t).__name__ != "EnsureTyped" or conv is None or conv.data_type != "tensor" or conv.device is not None
            or not conv.track_meta or not dtypes or not isinstance(dtypes[0], torch.dtype)):
        return None
    dtype = dtypes[0]

    def run(p: Picture) -> Picture:
        return Picture(p.data.to(dtype=dtype, memory_format=torch.contiguous_format), p.meta, p.ops, p.spatial_ndim)

    return run


def _scale(t: Any) -> Callable[[Picture], Picture] | None:
    import torch

    s = getattr(t, "scaler", None)
    if (type(t).__name__ != "ScaleIntensityd" or s is None or s.minv is None or s.maxv is None or s.channel_wise
            or not isinstance(s.dtype, type) or not issubclass(s.dtype, np.floating)):
        return None
    from monai.transforms.utils import rescale_array
    from monai.utils import get_equivalent_dtype

    out_dtype = get_equivalent_dtype(s.dtype, torch.Tensor)

    def run(p: Picture) -> Picture:
        if p.data.dtype == torch.float32 and s.dtype is np.float32 and p.data.device.type == "cpu":
            scaled: Any = torch.from_numpy(rescaled(p.data.numpy(), float(s.minv), float(s.maxv)))
        else:
            scaled = rescale_array(p.data, s.minv, s.maxv, dtype=s.dtype)  # a tensor of a tensor
        return Picture(scaled.to(dtype=out_dtype, memory_format=torch.contiguous_format), p.meta, p.ops,
                       p.spatial_ndim)

    return run


def rescaled(a: np.ndarray, minv: float, maxv: float) -> np.ndarray:
    """MONAI's ``rescale_array`` of a float32 array, in numpy: the same float32 operations in the same order.

    ``(a - min) / (max - min) * (maxv - minv) + minv``, the scalars taken as float32 as torch takes
    them; a constant array gives ``a * minv``. A new array (``a`` is left as it was).
    """
    low, high = a.min(), a.max()
    if low == high:
        return a * np.float32(minv)
    out = a - low
    out /= high - low
    out *= np.float32(maxv - minv)
    out += np.float32(minv)
    return out


def _resize(t: Any) -> Callable[[Picture], Picture] | None:
    import torch

    r = getattr(t, "resizer", None)
    if (type(t).__name__ != "Resized" or r is None or t.lazy or r.lazy or r.size_mode != "all" or r.anti_aliasing
            or any(t.anti_aliasing) or len(t.mode) != 1 or len(t.dtype) != 1):
        return None
    mode, corners, dtype = t.mode[0], t.align_corners[0], t.dtype[0]
    from monai.transforms.utils import resolves_modes
    from monai.utils import (
        MetaKeys,
        TraceKeys,
        convert_to_dst_type,
        ensure_tuple,
        fall_back_tuple,
        get_equivalent_dtype,
    )

    size = ensure_tuple(r.spatial_size)
    work = get_equivalent_dtype(dtype or r.dtype, torch.Tensor) if (dtype or r.dtype) is not None else None

    def run(p: Picture) -> Picture:
        affine = p.meta.get(MetaKeys.AFFINE)
        info = r.get_transform_info()
        if (p.data.ndim - 1 != len(size) or MetaKeys.PIXDIM in p.meta or not isinstance(affine, torch.Tensor)
                or affine.ndim != 2 or affine.shape[-1] - 1 < len(size) or not info[TraceKeys.TRACING]):
            raise NotHere("resize of an image in another state")
        orig = tuple(int(s) for s in p.data.shape[1:])
        out_size = fall_back_tuple(size, orig)
        step = get_equivalent_dtype(work or p.data.dtype, torch.Tensor)
        new_affine = convert_to_dst_type(affine, np.eye(1), dtype=torch.float64)[0]  # as an array, like MONAI
        new_affine = new_affine @ _scaling(new_affine.shape[-1] - 1, orig, tuple(out_size), bool(corners))
        meta = {**p.meta, MetaKeys.AFFINE: torch.as_tensor(new_affine, device=torch.device("cpu"), dtype=torch.float64)}
        extra = {"mode": mode, "align_corners": corners if corners is not None else TraceKeys.NONE,
                 "dtype": str(step)[6:], "new_dim": 0}
        op = {**info, TraceKeys.ORIG_SIZE: orig, TraceKeys.LAZY: False, TraceKeys.EXTRA_INFO: extra}
        if orig == out_size:
            return Picture(p.data.to(dtype=torch.float32, memory_format=torch.contiguous_format), meta, [*p.ops, op],
                           p.spatial_ndim)
        _, torch_mode, _, _ = resolves_modes(mode, torch_interpolate_spatial_nd=len(orig))
        data = p.data.to(dtype=step, memory_format=torch.contiguous_format)
        if torch_mode == "area" and data.dtype == torch.float32 and data.device.type == "cpu" and len(orig) == 2 \
                and all(o % n == 0 for o, n in zip(orig, out_size, strict=True)):
            resized = torch.from_numpy(block_mean(data.numpy(), orig[0] // out_size[0], orig[1] // out_size[1]))
        else:
            resized = torch.nn.functional.interpolate(input=data.unsqueeze(0), size=out_size, mode=torch_mode,
                                                      align_corners=corners).squeeze(0)
        return Picture(resized.to(dtype=torch.float32, memory_format=torch.contiguous_format), meta,
                       [*p.ops, op], p.spatial_ndim)

    return run


@functools.lru_cache(maxsize=256)
def _scaling(dims: int, orig: tuple[int, ...], size: tuple[int, ...], corners: bool) -> np.ndarray:
    """The affine ``Resize`` multiplies an image's affine by (as MONAI computes it), kept per sizes; read only."""
    from monai.data.utils import to_affine_nd
    from monai.transforms.utils import scale_affine

    scaling = np.array(to_affine_nd(dims, scale_affine(orig, size, align_corners=corners), dtype=np.float64))
    scaling.setflags(write=False)
    return scaling


def block_mean(x: np.ndarray, fh: int, fw: int) -> np.ndarray:
    """``area`` interpolation of a (C, H, W) float32 array to (C, H / fh, W / fw), as torch computes it on the CPU.

    Each output pixel is the mean of its ``fh`` x ``fw`` block: torch's kernel adds the block's
    values to a zero of the same type row by row, then divides by ``fh`` and by ``fw``; the same
    additions in the same order, on strided views of the whole picture, give the same bits.
    """
    c, h, w = x.shape
    blocks = x.reshape(c, h // fh, fh, w // fw, fw)
    out = np.zeros((c, h // fh, w // fw), dtype=x.dtype)
    for dh in range(fh):
        for dw in range(fw):
            out += blocks[:, :, dh, :, dw]
    out /= x.dtype.type(fh)
    out /= x.dtype.type(fw)
    return out


_KNOWN = (_channel_first, _as_type, _scale, _resize)


def _known(t: Any) -> Callable[[Picture], Picture] | None:
    if not _keys_ok(t):
        return None
    for recognise in _KNOWN:
        step = recognise(t)
        if step is not None:
            return step
    return None


class ArrayPreprocessing:
    """The preprocessing after loading: the transforms up to the last unknown one as MONAI's own, the rest here.

    The known steps run as one trailing run that ends with a ``Resized`` (whose output MONAI builds
    afresh, so the ``MetaTensor`` made here is the one MONAI makes); without such a run, MONAI's chain runs.
    """

    def __init__(self, compose: Any) -> None:
        from monai.transforms import Compose

        self.compose = compose
        transforms = list(compose.flatten().transforms) if isinstance(compose, Compose) else []
        steps = [_known(t) for t in transforms]
        lead = len(steps)
        while lead > 0 and steps[lead - 1] is not None:
            lead -= 1
        #: the known steps run on the plain tensor (none: MONAI's chain runs), after ``head`` (MONAI's own)
        self.steps: list[Callable[[Picture], Picture]] = [s for s in steps[lead:] if s is not None]
        self.head = Compose(transforms[:lead], map_items=True) if lead else None
        self.tail = Compose(transforms[lead:], map_items=True) if lead else compose
        if not (self.steps and type(transforms[-1]).__name__ == "Resized" and _plain_compose(compose)):
            self.steps = []

    def __call__(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """The preprocessed item, as ``compose(data)`` gives it."""
        from monai.data import MetaTensor
        from monai.data.meta_obj import get_track_meta

        if not self.steps or not isinstance(data, Mapping) or not get_track_meta():
            return self.compose(data)
        d = dict(self.head(data)) if self.head is not None else dict(data)
        image = d.get(KEY)
        if not isinstance(image, MetaTensor) or image.pending_operations or image.is_batch:
            return self.tail(d)
        picture = Picture(image.as_tensor(), dict(image.meta), list(image.applied_operations), image.spatial_ndim)
        try:
            for step in self.steps:
                picture = step(picture)
        except NotHere:
            return self.tail(d)
        d[KEY] = _meta_tensor(picture)
        return d


def _plain_compose(compose: Any) -> bool:
    """A Compose that runs its transforms one after another, eagerly, without logging or overrides."""
    return (compose.map_items is True and not compose.unpack_items and not compose.lazy and compose.overrides is None
            and not compose.log_stats)


def _meta_tensor(p: Picture) -> Any:
    """The picture as the ``MetaTensor`` MONAI's ``Resize`` leaves: a fresh one given the tracked metadata."""
    from monai.data import MetaTensor
    from monai.data.meta_obj import MetaObj

    tracked = MetaObj()
    tracked.meta, tracked.applied_operations = p.meta, p.ops
    tracked._spatial_ndim = p.spatial_ndim  # MONAI's Resize takes it from its input image
    out = MetaTensor(p.data)
    out.copy_meta_from(tracked)
    return out
