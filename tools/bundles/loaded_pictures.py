"""The picture as a bundle's loader read it, kept for the tools when it holds the file's own pixels.

A tool that runs an expert on a file also measures the mask on the file's pixels. Reading the file
again for that costs as much as the bundle's read. The bundle reads pictures through MONAI's
``PILReader``, usually with a converter (``im.convert('L')``); when the converter leaves the
picture as it was stored (same mode, size and bytes: an 8-bit grey PNG through ``convert('L')``),
what the bundle loaded is exactly what a plain read gives, so the engine hands it on. Otherwise (a
colour picture made grey, another reader) nothing is kept and the tool reads the file itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Suffixes ``PILReader`` reads, where the bundle's read and the tools' plain read use the same reader.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass(frozen=True)
class LoadedImage:
    """An image as a reader gave it: pixels (spatial first, channels last) and MONAI's metadata."""

    array: np.ndarray
    meta: dict[str, Any]


class WatchedConverter:
    """A ``PILReader`` converter that notes whether it kept the picture as stored."""

    def __init__(self, convert: Callable[[Any], Any] | None) -> None:
        self.convert = convert
        self.kept: bool | None = None  # None: not called since the last reset

    def __call__(self, img: Any) -> Any:
        """The converted picture (the picture itself without a converter)."""
        out = self.convert(img) if self.convert is not None else img
        self.kept = out is img or (out.mode == img.mode and out.size == img.size and out.tobytes() == img.tobytes())
        return out


def watch_readers(loading: Any) -> list[WatchedConverter]:
    """Wrap the converter of every ``PILReader`` of ``loading`` (a Compose of loading transforms), in place."""
    watchers = []
    for transform in getattr(loading, "transforms", [loading]):
        loader = getattr(transform, "_loader", transform)  # LoadImaged holds a LoadImage
        for reader in getattr(loader, "readers", []):
            if type(reader).__name__ == "PILReader" and not isinstance(reader.converter, WatchedConverter):
                reader.converter = WatchedConverter(reader.converter if callable(reader.converter) else None)
                watchers.append(reader.converter)
    return watchers


def read_through(loading: Any, watchers: list[WatchedConverter], path: str) -> tuple[dict[str, Any], LoadedImage | None]:
    """``loading`` of ``path`` and, when a watched reader read it and kept its pixels, the image as loaded."""
    for w in watchers:
        w.kept = None
    data = dict(loading({"image": path}))
    kept = [w.kept for w in watchers if w.kept is not None]
    if not kept or not all(kept) or not path.lower().endswith(PICTURE_SUFFIXES):
        return data, None
    image = data["image"]
    # copies: the preprocessing after loading may reuse the tensor's memory or metadata
    meta = dict(getattr(image, "meta", {}))
    if meta.get("affine") is not None:
        meta["affine"] = np.array(np.asarray(meta["affine"]), dtype=float)
    return data, LoadedImage(np.array(image, copy=True), meta)
