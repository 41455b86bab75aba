"""mimir's tools, registered on an explicit registry by :func:`build_registry`.

- ``framework/``: what every tool is built and called with (registry, declarations, runner, cache,
  context, errors, plug-ins, the LangChain adapter);
- the built-in tools, one per module: ``segment``, ``classify``, ``totalseg``, ``measure``,
  ``compare`` here, the VLM tools in ``vlm/`` and the retrieval tools in ``retrieval/``;
- ``bundles/``: running MONAI bundles (ConfigWorkflow, the expert engine, choosing a bundle, volumes
  slice by slice); ``experts/``: mimir's own bundles and their training; ``ood/``: the input check;
- ``analysis/``: what the tools compute with (image and mask reading, mask geometry, RANO).

Importing this package loads no model weights; heavy models load lazily on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mimir.settings import Settings
    from mimir.tools.framework.registry import Registry

#: Modules whose ``register(registry)`` adds built-in tools, in the order a planner sees them.
BUILTIN_TOOL_MODULES = (
    "mimir.tools.segment",
    "mimir.tools.classify",
    "mimir.tools.totalseg",
    "mimir.tools.measure",
    "mimir.tools.compare",
    "mimir.tools.vlm.tool",
    "mimir.tools.retrieval.tools",
)


def build_registry(settings: Settings | None = None, *, plugins: bool = True) -> Registry:
    """Every built-in tool plus the entry-point plug-ins (group ``mimir.tools``) on a fresh registry."""
    from mimir.tools.framework.plugins import load_plugins
    from mimir.tools.framework.registry import Registry

    registry = Registry("mimir")
    for name in BUILTIN_TOOL_MODULES:
        importlib.import_module(name).register(registry)
    if plugins:
        load_plugins(registry)
    return registry


__all__ = ["build_registry"]
