"""Post transforms of mimir's own segmentation bundles: label maps computed in numpy, on the CPU.

MONAI's ``AsDiscreted(argmax=True)`` and a ``RemoveSmallObjects`` wrapped in a ``Lambdad`` give
the same masks, but through several small torch operations per image, each of which pays torch's
thread-pool dispatch on a busy CPU (an argmax over a 3 x 256 x 256 map took 9-12 ms that numpy
does in under 1 ms). These transforms do the same work in numpy and keep the tensor's metadata, so
``Invertd`` and ``SaveImaged`` after them see what they saw before. ``inference.json`` builds
them through ``_target_``, like the networks in :mod:`mimir.tools.experts.networks`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
from monai.config import KeysCollection
from monai.transforms import MapTransform
from monai.utils import convert_to_dst_type
from scipy import ndimage

from mimir.tools.analysis.geometry import foreground_box


def _as_numpy(value: Any) -> np.ndarray:
    """The array of a tensor, MetaTensor or array, without a copy where it already lives on the CPU."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def channel_argmax(scores: np.ndarray) -> np.ndarray:
    """Index of the largest channel at each voxel of a channel-first array (first one on ties), as uint8.

    The same labels as ``argmax`` over axis 0, computed channel by channel so that every pass reads
    contiguous memory.
    """
    if scores.shape[0] > 255:
        raise ValueError(f"channel_argmax makes uint8 labels; got {scores.shape[0]} channels")
    labels = np.zeros(scores.shape[1:], dtype=np.uint8)
    best = np.array(scores[0], copy=True)
    for c in range(1, scores.shape[0]):
        higher = scores[c] > best
        labels[higher] = c
        np.maximum(best, scores[c], out=best)
    return labels


def remove_small_components(labels: np.ndarray, max_size: int) -> np.ndarray:
    """``labels`` (spatial array) with every foreground component of at most ``max_size`` voxels set to 0.

    Components are of the foreground as a whole (all non-zero labels), with full connectivity
    (8 neighbours in 2D), as ``monai.transforms.RemoveSmallObjects(connectivity=ndim)`` finds them.
    They are found inside the foreground's bounding box (outside it there is nothing to join them).
    """
    foreground = labels > 0
    box = foreground_box(foreground)
    if box is None:
        return labels
    components, n = ndimage.label(foreground[box], structure=np.ones((3,) * labels.ndim, dtype=bool))
    small = np.bincount(components.ravel()) <= max_size
    small[0] = False
    if not small.any():
        return labels
    out = labels.copy()
    out[box][small[components]] = 0
    return out


class ArrayLabelTransform(MapTransform):
    """A post transform whose work is one numpy function of each key's array (``on_array``).

    Called as a MONAI transform it keeps the tensor type and metadata; the expert engine, which
    only needs the final array, calls ``on_array`` directly when every transform left is one of these.
    """

    #: True when each output pixel depends only on the channels of the same input pixel
    per_pixel = False

    def on_array(self, array: np.ndarray) -> np.ndarray:
        """The transformed array (channel first)."""
        raise NotImplementedError

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """``data`` with each key's value replaced by ``on_array`` of it (same tensor type and metadata)."""
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = convert_to_dst_type(self.on_array(_as_numpy(d[key])), d[key])[0]
        return d


class ArgmaxLabelsd(ArrayLabelTransform):
    """Channel scores (C, *spatial) to a one-channel label map (1, *spatial), like ``AsDiscreted(argmax=True)``."""

    per_pixel = True

    def on_array(self, array: np.ndarray) -> np.ndarray:
        """The label map of channel scores, as float32 like ``AsDiscreted`` gives it."""
        return channel_argmax(array)[None].astype(np.float32)


class RemoveSmallLesionsd(ArrayLabelTransform):
    """Drop foreground components no larger than ``min_fraction`` of the picture (its last two axes).

    Components of at most ``max(1, int(H * W * min_fraction))`` pixels of the map it is given are
    removed, so the same fraction of the picture goes whatever its size. The limit is inclusive, as
    the bundles' ``RemoveSmallObjects(min_size=...)`` applied it with scikit-image 0.26, where their
    figures were measured. Expects a one-channel label map.
    """

    def __init__(self, keys: KeysCollection, min_fraction: float, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.min_fraction = float(min_fraction)

    def on_array(self, array: np.ndarray) -> np.ndarray:
        """The label map without its small components."""
        if array.shape[0] != 1:
            raise ValueError(f"RemoveSmallLesionsd expects a one-channel label map; got shape {array.shape}")
        limit = max(1, int(array.shape[-1] * array.shape[-2] * self.min_fraction))
        return remove_small_components(array[0], limit)[None]
