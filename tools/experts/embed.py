"""Image embeddings from an expert's encoder: the retriever's default image embedder.

``embed_images(bundle_dir, items)`` runs the bundle's network up to its deepest features
(``network.embed``: global-average-pooled bottleneck) and returns L2-normalised float32 vectors.
Files go through the bundle's own preprocessing (``inference.json``); numpy arrays, laid out as
pictures are shown (H, W) or (H, W, 3), get the same layout change, scaling and resize.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mimir.tools.experts.data import TRAIN_SIZE, to_monai_layout

#: Bundle whose encoder mimir embeds images with by default.
DEFAULT_EMBEDDER = "brain_mri_lesion_seg"


def embedder_version(bundle_dir: Path | str) -> str:
    """Stable id of an embedder: ``<bundle name>-<version>-<first 12 hex of sha256(model.pt)>``."""
    bundle = Path(bundle_dir)
    meta = json.loads((bundle / "configs" / "metadata.json").read_text())
    sha = hashlib.sha256((bundle / "models" / "model.pt").read_bytes()).hexdigest()[:12]
    return f"{meta['name']}-{meta['version']}-{sha}"


@functools.cache
def _load(bundle: str) -> tuple[torch.nn.Module, object, int]:
    from monai.bundle import ConfigParser

    from mimir.tools.bundles.config import snapshot_locator

    parser = ConfigParser()
    parser.locator = snapshot_locator()  # other threads import modules while this one parses
    parser.read_config(str(Path(bundle) / "configs" / "inference.json"))
    parser["bundle_root"] = bundle
    net = parser.get_parsed_content("network_def", instantiate=True)
    if not hasattr(net, "embed"):
        raise TypeError(f"The network of {bundle} has no embed() method; it cannot serve as an image embedder")
    net.load_state_dict(torch.load(Path(bundle) / "models" / "model.pt", map_location="cpu", weights_only=True))
    net.eval()
    preprocessing = parser.get_parsed_content("preprocessing", instantiate=True)
    channels = int(json.loads((Path(bundle) / "configs" / "metadata.json").read_text())["mimir"]["channels"])
    return net, preprocessing, channels


def _from_array(array: np.ndarray, channels: int) -> torch.Tensor:
    image = to_monai_layout(np.asarray(array, dtype=np.float32))
    if image.shape[0] != channels:
        image = image.mean(axis=0, keepdims=True).repeat(channels, axis=0)
    lo, hi = float(image.min()), float(image.max())
    image = (image - lo) / (hi - lo) if hi > lo else image * 0.0
    return F.interpolate(torch.from_numpy(image)[None], size=(TRAIN_SIZE, TRAIN_SIZE), mode="area")[0]


def embed_images(bundle_dir: Path | str, arrays_or_paths: Sequence[np.ndarray | Path | str]) -> np.ndarray:
    """Embed pictures (file paths or numpy arrays) with the bundle's encoder: (N, D) float32, L2-normalised."""
    net, preprocessing, channels = _load(str(Path(bundle_dir).resolve()))
    batch = []
    for item in arrays_or_paths:
        if isinstance(item, np.ndarray):
            batch.append(_from_array(item, channels))
        else:
            batch.append(torch.as_tensor(preprocessing({"image": str(item)})["image"]).float())  # type: ignore[operator]
    if not batch:
        return np.zeros((0, 0), dtype=np.float32)
    with torch.no_grad():
        feats = net.embed(torch.stack(batch))  # type: ignore[operator]
    return F.normalize(feats, dim=1).numpy().astype(np.float32)
