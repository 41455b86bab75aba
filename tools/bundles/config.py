"""A MONAI bundle's config read into the parts mimir runs: network, weights, transforms, inferer.

The engine (``engine``), the OOD features, the embedder and ``ConfigWorkflow`` runs all parse bundle
configs with MONAI's ``ConfigParser``; they share the thread-safe component locator kept here, and the
engine reads its network, weights and transforms with the helpers below.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: Loading transforms: a slice already loaded skips them.
_LOADERS = ("LoadImage", "LoadImaged")


def snapshot_locator() -> Any:
    """A MONAI ``ComponentLocator`` that scans a snapshot of ``sys.modules``.

    MONAI's locator walks ``sys.modules`` itself, so a module imported by another thread during
    the walk fails the parse with "dictionary changed size during iteration". ``list(sys.modules)``
    copies the keys in one step.
    """
    from monai.bundle.config_item import ComponentLocator

    class SnapshotLocator(ComponentLocator):
        def _find_module_names(self) -> list[str]:
            names = list(sys.modules)
            return [m for m in names if m.startswith(self.MOD_START) and all(s not in m for s in self.excludes)]

    return SnapshotLocator()


def bundle_parser(root: Path, device: str) -> Any:
    """A ``ConfigParser`` of the bundle's inference config and metadata, for ``device``, with no data list."""
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.locator = snapshot_locator()
    parser.read_config(str(root / "configs" / "inference.json"))
    parser.read_meta(str(root / "configs" / "metadata.json"))
    parser["bundle_root"] = str(root)
    parser["device"] = f"$torch.device('{device}')"
    parser["datalist"] = []
    return parser


def load_weights(parser: Any, network: torch.nn.Module, root: Path) -> None:
    """Run the bundle's own ``CheckpointLoader`` (a handler) once; plain ``models/model.pt`` without one."""
    handlers = parser.config.get("handlers") if isinstance(parser.config, dict) else None
    for i, h in enumerate(handlers if isinstance(handlers, list) else []):
        if isinstance(h, dict) and str(h.get("_target_", "")).endswith("CheckpointLoader"):
            loader = parser.get_parsed_content(f"handlers#{i}")
            loader(SimpleNamespace(state=SimpleNamespace(max_epochs=None, epoch=0)))
            return
    import torch

    network.load_state_dict(torch.load(root / "models" / "model.pt", map_location="cpu", weights_only=True))


def transforms_of(compose: Any) -> list[Any]:
    """The transforms of a ``Compose``, nested ones flattened (a single transform as a list of one)."""
    from monai.transforms import Compose

    return list(compose.flatten().transforms) if isinstance(compose, Compose) else [compose]


def without(compose: Any, names: tuple[str, ...]) -> Any:
    """``compose`` without the transforms whose class is in ``names`` (the savers)."""
    from monai.transforms import Compose

    return Compose([t for t in transforms_of(compose) if type(t).__name__ not in names])


def split_loading(compose: Any) -> tuple[Any, Any]:
    """(the leading loading transforms, the rest): a slice already loaded skips the first part."""
    from monai.transforms import Compose

    transforms = transforms_of(compose)
    n = 0
    while n < len(transforms) and type(transforms[n]).__name__ in _LOADERS:
        n += 1
    return Compose(transforms[:n]), Compose(transforms[n:])


def compose_of(transforms: list[Any]) -> Any:
    """A ``Compose`` of ``transforms``, or None when there are none."""
    from monai.transforms import Compose

    return Compose(transforms) if transforms else None
