"""Capabilities that MONAI bundles declare in ``configs/metadata.json``.

The ``mimir`` block of a bundle's metadata lists them under ``capabilities``; modality, dimensions
and labels default to the block's own ``modality``, ``dims`` and ``labels``::

    "mimir": {"task": "segmentation", "modality": "MR", "dims": 2, "labels": {...},
              "capabilities": [{"kind": "segments", "target": "brain tumour",
                                "prefers": {"sequence": ["T1C", "FLAIR", "T2", "T1"]}}]}

A bundle without the list declares what its task implies: a segmentation bundle segments its
foreground labels, a classification bundle classifies the attribute ``finding`` into its labels.
Each declaration carries ``{"expert": <bundle name>}`` as the argument that selects the bundle, so
planners call the ``segment`` / ``classify`` tool with it and never name a bundle themselves.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mimir.tools.framework.capabilities import Capability, canonical_modality, classifies, segments
from mimir.vocabulary import is_background_label

if TYPE_CHECKING:
    from mimir.settings import Settings
    from mimir.tools.bundles.workflow import BundleInfo

log = logging.getLogger(__name__)


def _declared(bundle: BundleInfo) -> list[dict[str, Any]]:
    meta = json.loads((bundle.root / "configs" / "metadata.json").read_text())
    items = (meta.get("mimir") or {}).get("capabilities")
    return list(items) if isinstance(items, list) else []


def _foreground(bundle: BundleInfo) -> tuple[str, ...]:
    return tuple(v for _, v in sorted(bundle.labels.items()) if not is_background_label(v))


def bundle_capabilities(bundle: BundleInfo) -> tuple[Capability, ...]:
    """What one bundle declares (or, without declarations, what its task implies)."""
    dims = (2, 3) if bundle.slice_wise else (bundle.dims,)  # a 2D expert takes volumes slice by slice
    common: dict[str, Any] = {"modalities": tuple(m for m in map(canonical_modality, bundle.modalities) if m),
                              "dims": dims,
                              "arguments": {"expert": bundle.name}, "source": bundle.name}
    declared = _declared(bundle)
    if not declared:
        if bundle.task == "segmentation":
            return (segments(", ".join(_foreground(bundle)), labels=_foreground(bundle), **common),)
        return (classifies("finding", tuple(v for _, v in sorted(bundle.labels.items())), **common),)
    out: list[Capability] = []
    for item in declared:
        values = _foreground(bundle) if item.get("kind") == "segments" else tuple(v for _, v in sorted(bundle.labels.items()))
        fields = {"values": values, **common, **{k: v for k, v in item.items() if k != "arguments"}}
        fields["modalities"] = tuple(m for m in (canonical_modality(str(x)) for x in fields["modalities"]) if m)
        fields["prefers"] = {k: tuple(v) for k, v in (fields.get("prefers") or {}).items()}
        try:
            out.append(Capability(**fields))
        except ValidationError as e:
            log.warning("bundle %s: capability %s is not valid and is ignored: %s", bundle.name, item, e)
    return tuple(out)


def declarations(task: str) -> Callable[[Settings], tuple[Capability, ...]]:
    """The declarations of every installed bundle of ``task`` (for ``registry.tool(capabilities=...)``)."""

    def read(settings: Settings) -> tuple[Capability, ...]:
        from mimir.tools.bundles.workflow import discover_bundles

        return tuple(c for b in discover_bundles(settings) if b.task == task for c in bundle_capabilities(b))

    return read
