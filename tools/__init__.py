"""mimir's tools: one per module, registered on an explicit registry by :func:`build_registry`.

Importing this package loads no model weights; heavy models load lazily on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mimir.settings import Settings
    from mimir.tools.registry import Registry

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
    from mimir.tools.plugins import load_plugins
    from mimir.tools.registry import Registry

    registry = Registry("mimir")
    for name in BUILTIN_TOOL_MODULES:
        importlib.import_module(name).register(registry)
    if plugins:
        load_plugins(registry)
    return registry


__all__ = ["build_registry"]
