"""``Agent``: the one entry point the CLI, the evals and the chat app use."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from langgraph.types import Command

from mimir.agent.graph import build_graph
from mimir.agent.run_context import AgentContext, Limits
from mimir.domain import Answer, Case, Event

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from mimir.agent.planners.base import Planner
    from mimir.memory.db import Database
    from mimir.settings import Settings
    from mimir.tools.framework.context import ToolContext
    from mimir.tools.framework.registry import Registry
    from mimir.tools.framework.runner import ToolRunner

log = logging.getLogger(__name__)


class AwaitingChoice(RuntimeError):
    """An interactive ``answer()`` paused on an ambiguous reference; resume with :meth:`Agent.resume`."""

    def __init__(self, thread_id: str, question: dict[str, Any]) -> None:
        super().__init__(f"thread {thread_id} waits for a choice about '{question.get('mention')}': "
                         f"call Agent.resume('{thread_id}', option) or use stream()")
        self.thread_id = thread_id
        self.question = question


def make_planner(settings: Settings, name: str | None = None) -> Planner:
    """The configured planner: ``rules`` (default) or ``llm`` (a chat model with tool calling)."""
    if (name or settings.planner) == "llm":
        from mimir.agent.planners.llm import LLMPlanner, make_chat_model

        return LLMPlanner(make_chat_model(settings))
    from mimir.agent.planners.rules import RulesPlanner

    return RulesPlanner()


class Agent:
    """Answers cases; threads (follow-ups, interrupts) live in the checkpointer."""

    def __init__(self, settings: Settings, *, registry: Registry | None = None, vlm: Any | None = None,
                 planner: Planner | None = None, checkpointer: BaseCheckpointSaver | None = None,
                 database: Database | None = None, timeline: bool = True,
                 runner_factory: Callable[[ToolContext], ToolRunner] | None = None) -> None:
        if registry is None:
            from mimir.tools import build_registry

            registry = build_registry(settings)
        if database is None and timeline:
            from mimir.memory.db import open_database

            database = open_database(settings)
        self.settings = settings
        self.planner = planner or make_planner(settings)
        self._deps: dict[str, Any] = dict(settings=settings, registry=registry, planner=self.planner, database=database, vlm=vlm,
                          chat_model=getattr(self.planner, "model", None), runner_factory=runner_factory,
                          limits=Limits.from_settings(settings), header_cache={}, known_images={})
        self._checkpointer = checkpointer
        self._one_shot = build_graph()
        self._threads: Any | None = None

    def _context(self, batch: bool) -> AgentContext:
        return AgentContext(batch=batch, **self._deps)

    @property
    def threads(self) -> Any:
        """The graph with a checkpointer (opened on first use)."""
        if self._threads is None:
            if self._checkpointer is None:
                from mimir.agent.checkpoint import open_checkpointer

                self._checkpointer = open_checkpointer(self.settings)
            self._threads = build_graph(self._checkpointer)
        return self._threads

    def answer(self, case: Case, thread_id: str | None = None, batch: bool = True) -> Answer:
        """Answer one case; with ``thread_id`` the question joins (or starts) a thread."""
        if thread_id is None and not batch:
            thread_id = uuid.uuid4().hex  # an interactive run may pause, which needs a thread
        graph = self._one_shot if thread_id is None else self.threads
        config = {"configurable": {"thread_id": thread_id}} if thread_id else {}
        state = graph.invoke({"case": case}, config, context=self._context(batch))
        if state.get("__interrupt__"):
            raise AwaitingChoice(str(thread_id), state["__interrupt__"][0].value)
        result: Answer = state["answer"]
        return result

    def stream(self, case: Case, thread_id: str | None = None, batch: bool = False) -> Iterator[Event]:
        """Events of one question, ending with kind 'answer' (or 'interrupt' when it pauses)."""
        yield from self._events({"case": case}, thread_id or uuid.uuid4().hex, batch)

    def resume(self, thread_id: str, choice: Any) -> Iterator[Event]:
        """Continue a paused thread with a person's choice (an option number or image indices)."""
        yield from self._events(Command(resume=choice), thread_id, batch=False)

    def _events(self, payload: Any, thread_id: str, batch: bool) -> Iterator[Event]:
        config = {"configurable": {"thread_id": thread_id}}
        for mode, chunk in self.threads.stream(payload, config, context=self._context(batch),
                                               stream_mode=["custom", "updates"]):
            if mode == "custom" and isinstance(chunk, Event):
                yield chunk
            elif mode == "updates" and isinstance(chunk, dict) and "__interrupt__" in chunk:
                for intr in chunk["__interrupt__"]:
                    yield Event(kind="interrupt", node=intr.value.get("node", "resolve"),
                                data={"thread_id": thread_id, **intr.value})

    def state(self, thread_id: str) -> dict[str, Any]:
        """The thread's latest state values (for inspection and the chat app)."""
        return dict(self.threads.get_state({"configurable": {"thread_id": thread_id}}).values)
