"""Streaming: every node and tool reports :class:`mimir.domain.Event` objects on the custom stream."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer

from mimir.domain import Event, EventKind


def emit(kind: EventKind, *, node: str | None = None, tool: str | None = None, **data: Any) -> None:
    """Send one event to ``stream_mode="custom"`` listeners (a no-op when nobody streams)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of helpers)
        return
    writer(Event(kind=kind, node=node, tool=tool, data=data))
