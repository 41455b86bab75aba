"""What the fingerprint measures on one image, through the bundle's own preprocessing and network.

Four groups of numbers per image, each compared with the fitted images on its own:

- ``features``: per-channel mean and standard deviation of the network's deepest activation (the
  module whose output has the fewest spatial positions: a U-Net's bottleneck, a classifier's last
  stage), found by forward hooks, so any MONAI network works without an ``embed`` method;
- ``intensity``: a 16-bin histogram of the preprocessed input, its mean, spread and saturated share;
- ``noise``: the median absolute Laplacian of the preprocessed input (sensor noise, texture);
- ``geometry``: the loaded image's size and aspect ratio (field of view, resolution);
- ``layout``: the preprocessed input averaged over an 8 x 8 grid (where the anatomy lies and how it
  is turned: pooled features and histograms do not change when an image is rotated or flipped).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import torch
from torch import nn

from mimir.tools.bundles.capture import DeepestCapture

GROUPS: tuple[str, ...] = ("features", "intensity", "noise", "geometry", "layout")
#: Histogram bins over [0, 1] of the preprocessed input, and the layout grid's cells per side.
BINS, GRID = 16, 8
#: MONAI's loading transforms: a picture given already loaded skips them.
LOADERS = ("LoadImage", "LoadImaged")


@dataclass
class ImageFeatures:
    """One image's numbers per group, and the network's output (class logits for a classifier)."""

    groups: dict[str, np.ndarray]
    logits: np.ndarray | None = None


class FeatureExtractor:
    """A bundle's preprocessing and network, with hooks that keep the deepest activation (``DeepestCapture``)."""

    def __init__(self, bundle_root: Path, task: str) -> None:
        from monai.bundle import ConfigParser

        from mimir.tools.bundles.config import snapshot_locator

        self.root, self.task = Path(bundle_root), task
        parser = ConfigParser()
        parser.locator = snapshot_locator()  # other threads import modules while this one parses
        parser.read_config(str(self.root / "configs" / "inference.json"))
        parser["bundle_root"] = str(self.root)
        parser["device"] = "$torch.device('cpu')"
        self.preprocessing = parser.get_parsed_content("preprocessing", instantiate=True)
        self.network: nn.Module = parser.get_parsed_content("network_def", instantiate=True)
        _load_weights(self.network, self.root / "models" / "model.pt")
        self.network.eval()
        self.inferer = parser.get_parsed_content("inferer", instantiate=True) if "inferer" in parser else None
        self._lock = threading.Lock()
        self._capture = DeepestCapture(self.network, self.root.name)

    def measure(self, image: Path | str | Any) -> ImageFeatures:
        """The numbers of one image file (read and preprocessed as the bundle reads it).

        ``image`` may also be a picture already loaded as MONAI's loaders return it (a slice of a
        volume): the bundle's loading transforms are then skipped, the rest run as for a file.
        """
        is_file = isinstance(image, str | Path)
        data: Any = {"image": str(image) if is_file else image}
        loaded_shape = None if is_file else tuple(int(s) for s in getattr(image, "shape", ()))
        for transform in self.preprocessing.transforms:
            if not is_file and type(transform).__name__ in LOADERS:
                continue
            data = transform(data)
            if loaded_shape is None and hasattr(data["image"], "shape"):
                loaded_shape = tuple(int(s) for s in data["image"].shape)
        x = torch.as_tensor(np.asarray(data["image"]), dtype=torch.float32)
        batch = x[None]
        with self._lock, torch.no_grad():
            out, deep = self._capture.run(batch, lambda: self.network(batch))
            if deep is None:
                raise ValueError(f"the network of {self.root.name} produced no image-shaped activation")
            if self.task == "classification" and self.inferer is not None:
                out = self.inferer(x[None], self.network)  # the logits the bundle's own run averages
        logits = out[0].flatten().numpy().astype(np.float64) if self.task == "classification" else None
        return ImageFeatures(groups=image_groups(x, deep[0], loaded_shape or tuple(x.shape)), logits=logits)


def is_image_shaped(output: object) -> TypeGuard[torch.Tensor]:
    """Whether a module's output is an image-shaped activation (batch, channels and spatial axes)."""
    return isinstance(output, torch.Tensor) and output.ndim >= 4


def deepest(captured: dict[str, torch.Tensor], network: str = "the network") -> str:
    """The name of the activation with the fewest spatial positions (the deepest; the first one on ties).

    ``captured`` holds the image-shaped outputs of a network's leaf modules in the order they ran.
    """
    sizes = {n: int(np.prod(t.shape[2:])) for n, t in captured.items()}
    if not sizes:
        raise ValueError(f"{network} produced no image-shaped activation")
    smallest = min(sizes.values())
    return next(n for n, s in sizes.items() if s == smallest)


def image_groups(x: torch.Tensor, deep: torch.Tensor, loaded_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """One image's numbers per group from its preprocessed input ``x`` (channels first) and its deepest activation.

    ``deep`` is the image's own activation (channels first, no batch axis) from the network's pass on
    the preprocessed input alone; ``loaded_shape`` is the picture's shape as its loader read it.
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    return {
        "features": _pooled(torch.as_tensor(deep)[None]),
        "intensity": _intensity(x.numpy()),
        "noise": _noise(x.numpy()),
        "geometry": _geometry(loaded_shape),
        "layout": _layout(x),
    }


def _load_weights(network: nn.Module, path: Path) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a MONAI CheckpointSaver file
    network.load_state_dict(state)


def _pooled(activation: torch.Tensor) -> np.ndarray:
    a = activation[0].flatten(1).double()
    return torch.cat([a.mean(dim=1), a.std(dim=1, correction=0)]).numpy()


def _intensity(x: np.ndarray) -> np.ndarray:
    v = np.clip(x.mean(axis=0), 0.0, 1.0).ravel()
    hist = np.histogram(v, bins=BINS, range=(0.0, 1.0))[0] / max(v.size, 1)
    return np.concatenate([hist, [v.mean(), v.std(), float(np.mean(v >= 0.999))]])


def _noise(x: np.ndarray) -> np.ndarray:
    g = x.mean(axis=0)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return np.asarray([np.log(float(np.median(np.abs(lap))) + 1e-4)])


def _layout(x: torch.Tensor) -> np.ndarray:
    grey = x.mean(dim=0, keepdim=True).clamp(0.0, 1.0)[None].double()
    if grey.ndim == 5:  # a volume: 4 x 4 x 4 cells
        return torch.nn.functional.adaptive_avg_pool3d(grey, GRID // 2).flatten().numpy()
    return torch.nn.functional.adaptive_avg_pool2d(grey, GRID).flatten().numpy()


def _geometry(shape: tuple[int, ...]) -> np.ndarray:
    spatial = [s for s in shape if s > 4] or [1]  # axes of 4 or fewer are channels (or a flat axis)
    return np.asarray([np.log(float(np.prod(spatial))) / len(spatial), np.log(max(spatial) / min(spatial))])


def bundle_task(bundle_root: Path) -> str:
    """``segmentation`` or ``classification``, as the bundle's metadata declares."""
    from mimir.tools.bundles.workflow import read_bundle

    return str(read_bundle(Path(bundle_root)).task)


def describe(bundle_root: Path) -> dict[str, Any]:
    """Name and version of a bundle (for the fingerprint's record)."""
    meta = json.loads((Path(bundle_root) / "configs" / "metadata.json").read_text())
    return {"bundle": Path(bundle_root).name, "version": str(meta.get("version", ""))}
