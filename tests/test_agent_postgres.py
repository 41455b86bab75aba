"""Threads on PostgreSQL: when the timeline is on PostgreSQL the checkpointer is too (PostgresSaver)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import lesion_case
from fixtures.agent_tools import stand_in_registry

from mimir.agent.checkpoint import open_checkpointer
from mimir.agent.entry import Agent
from mimir.settings import Settings

pytest_plugins = ["fixtures.memory_postgres"]
pytestmark = pytest.mark.postgres


def test_interrupt_and_follow_up_on_postgres(postgres_server: str, tmp_path: Path) -> None:
    from fixtures.memory_postgres import create_database

    settings = Settings(data_dir=tmp_path / "d", database_url=create_database(postgres_server, "agent_threads")).ensure_dirs()
    saver = open_checkpointer(settings)
    assert type(saver).__name__ == "PostgresSaver"
    agent = Agent(settings, registry=stand_in_registry(), checkpointer=saver)
    case = lesion_case(tmp_path, [6, 6, 6], "Which sequence is the other image?\nA: T1\nB: T2\nC: FLAIR\nD: T1C",
                       sequences=["T1", "FLAIR", "T2"])
    assert list(agent.stream(case, thread_id="pg-1"))[-1].kind == "interrupt"
    # a second agent (another process, in effect) resumes the paused thread from the database
    other = Agent(settings, registry=stand_in_registry(), checkpointer=open_checkpointer(settings))
    final = list(other.resume("pg-1", 2))[-1]
    assert final.kind == "answer" and final.data["answer"]["letter"] == "B"
    follow = other.answer(case.model_copy(update={"question": "Which sequence is the first image?\nA: T1\nB: T2\nC: FLAIR\nD: T1C"}),
                          thread_id="pg-1")
    assert follow.letter == "A"
