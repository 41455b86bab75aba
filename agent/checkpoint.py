"""The thread store: LangGraph's SQLite checkpointer by default, PostgreSQL when the timeline is there."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.checkpoint.serde.base import SerializerProtocol

    from mimir.settings import Settings


def serializer() -> SerializerProtocol:
    """LangGraph's serializer, told which of mimir's state types it may read back from a checkpoint."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from mimir import domain
    from mimir.agent import state

    allowed = [domain.Case, domain.CaseImage, domain.ParsedQuestion, domain.Binding, domain.Resolution,
               domain.Evidence, domain.ToolStep, domain.Answer, state.PlannedCall, state.ToolRecord,
               state.TimelineSummary, state.Draft]
    return JsonPlusSerializer(allowed_msgpack_modules=allowed)


def open_checkpointer(settings: Settings) -> BaseCheckpointSaver:
    """A ready checkpointer at ``settings.checkpoint_url`` (tables created on first use)."""
    url = settings.checkpoint_url
    if url.startswith("postgresql"):
        return _postgres(url)
    from langgraph.checkpoint.sqlite import SqliteSaver

    Path(url).parent.mkdir(parents=True, exist_ok=True)
    saver = SqliteSaver(sqlite3.connect(url, check_same_thread=False), serde=serializer())
    saver.setup()
    return saver


def _postgres(url: str) -> BaseCheckpointSaver:
    from mimir.extras import require_extra

    require_extra("postgres", "A PostgreSQL checkpoint_url")
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection
    from psycopg.rows import dict_row

    plain = url.replace("postgresql+psycopg://", "postgresql://").replace("postgresql+psycopg2://", "postgresql://")
    conn = Connection.connect(plain, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    saver = PostgresSaver(conn, serde=serializer())
    saver.setup()
    return saver
