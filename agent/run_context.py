"""Run-level dependencies handed to every node through LangGraph's ``Runtime.context``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mimir.agent.offers import Offers
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.runner import ToolRunner

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from sqlalchemy.orm import Session

    from mimir.agent.planners.base import Planner
    from mimir.domain import Case
    from mimir.memory.db import Database
    from mimir.settings import Settings
    from mimir.tools.framework.registry import Registry


@dataclass(frozen=True)
class Limits:
    """Budgets of one question: planning rounds, tool calls and wall-clock time."""

    max_steps: int = 12
    max_tool_calls: int = 24
    timeout_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits configured in ``settings.planner_*``."""
        return cls(settings.planner_max_steps, settings.planner_max_tool_calls, settings.planner_timeout_s)


@dataclass
class AgentContext:
    """Everything a node needs that is not part of the thread's state (never checkpointed)."""

    settings: Settings
    registry: Registry
    planner: Planner
    database: Database | None = None
    vlm: Any | None = None
    chat_model: BaseChatModel | None = None
    batch: bool = True
    limits: Limits = field(default_factory=Limits)
    #: Builds the runner for a tool context; the default is the real :class:`ToolRunner`.
    runner_factory: Callable[[ToolContext], ToolRunner] | None = None
    #: DICOM header metadata already read (shared by the runs of one Agent).
    header_cache: dict[Any, dict[str, Any]] = field(default_factory=dict)
    #: Case images the timeline already knows (shared by the runs of one Agent).
    known_images: dict[Any, Any] = field(default_factory=dict)
    #: Declared capabilities of the registry's tools (built once, shared by the runs of one Agent).
    offers_cache: dict[str, Offers] = field(default_factory=dict)
    _available: set[str] | None = field(default=None, init=False, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session | None]:
        """A timeline session (committed on success) or None without a timeline."""
        cm = self.database.session() if self.database is not None else nullcontext(None)
        with cm as s:
            yield s

    @contextmanager
    def runner(self, case: Case, progress: Callable[[float, str], None] | None = None) -> Iterator[ToolRunner]:
        """A ToolRunner over the case's images with its own timeline session (one per parallel task)."""
        with self.session() as s:
            ctx = ToolContext(settings=self.settings, images=list(case.images), session=s,
                              patient_id=case.patient_id, progress=progress)
            yield self.runner_factory(ctx) if self.runner_factory else ToolRunner(self.registry, ctx)

    def available_tools(self) -> set[str]:
        """Names of registered tools that can run on this installation."""
        if self._available is None:
            self._available = {s.name for s in self.registry if s.unavailable_reason(self.settings) is None}
        return self._available

    def offers(self) -> Offers:
        """What the registry's tools declare they can do here (read once per agent)."""
        if "all" not in self.offers_cache:
            self.offers_cache["all"] = Offers.of(self.registry, self.settings)
        return self.offers_cache["all"]

    @property
    def vlm_configured(self) -> bool:
        """True when a tool that answers visually can run here."""
        return bool(self.offers().find("answers_visually"))
