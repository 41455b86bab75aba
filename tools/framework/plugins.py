"""Third-party tools through the ``mimir.tools`` entry-point group (simonw/llm's plug-in style).

A distribution publishes ``[project.entry-points."mimir.tools"] name = "package.module:toolset"``
where ``toolset`` is a :class:`~mimir.tools.framework.registry.Registry` (all its tools are added) or a
single :class:`~mimir.tools.framework.registry.ToolSpec`.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from mimir.tools.framework.errors import RegistrationError
from mimir.tools.framework.registry import Registry, ToolSpec

log = logging.getLogger(__name__)
GROUP = "mimir.tools"


def load_plugins(registry: Registry, group: str = GROUP) -> list[str]:
    """Add every plug-in of ``group`` to ``registry``; returns the entry-point names loaded."""
    loaded = []
    for ep in entry_points(group=group):
        obj = ep.load()
        if isinstance(obj, Registry):
            registry.merge(obj)
        elif isinstance(obj, ToolSpec):
            registry.add(obj)
        else:
            raise RegistrationError(
                f"entry point '{ep.name}' ({ep.value}) in group '{group}' is a {type(obj).__name__}; "
                "it must be a mimir.tools.framework.registry.Registry or ToolSpec"
            )
        log.info("loaded tool plug-in %s from %s", ep.name, ep.value)
        loaded.append(ep.name)
    return loaded
