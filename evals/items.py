"""Evaluation items, what a runner may see, and what a run records per item.

An :class:`EvalItem` holds everything the loader knows, including the fields a model must never
see (``source``, ``id``, original paths). A runner receives only a :class:`RunnerInput`, built by
:mod:`mimir.evals.staging` from the item's question, options and neutrally named image copies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mimir.domain import Ability

ItemStatus = Literal["ok", "abstained", "tool_failed", "infra_error", "missing_image"]
STATUSES: tuple[ItemStatus, ...] = ("ok", "abstained", "tool_failed", "infra_error", "missing_image")
#: Statuses left out of accuracy (reported apart): the run, not the system under test, failed.
EXCLUDED: frozenset[str] = frozenset({"infra_error", "missing_image"})


class EvalItem(BaseModel):
    """One benchmark item, keyed by (file, index) because ids repeat."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="File name the item came from")
    index: int = Field(description="0-based position in that file")
    subset: str
    ability: Ability
    source: str = Field(description="Data source for per-source reports; never shown to a runner")
    item_id: str = Field(description="The file's own id (not unique)")
    stem: str = Field(description="Question without <image> placeholders and option lines")
    options: dict[str, str] = Field(default_factory=dict)
    gold_letter: str | None = None
    gold_text: str
    images: list[str] = Field(description="Image paths as the file gives them")
    resolved: list[Path] = Field(default_factory=list, description="Absolute image paths, when found")
    image_meta: list[dict[str, Any]] | None = Field(default=None, description="Only where a suite gives it")
    patient_id: str | None = Field(default=None, description="Only for suites with a timeline (demo)")

    @property
    def key(self) -> str:
        """The item's unique key: ``file#index``."""
        return f"{self.file}#{self.index}"

    @property
    def closed(self) -> bool:
        """True for multiple-choice items with a gold letter."""
        return self.gold_letter is not None

    @property
    def missing_images(self) -> list[str]:
        """Paths of this item's images that were not found under the image root."""
        if len(self.resolved) == len(self.images) and all(_present(p) for p in self.resolved):
            return []
        found = {i for i, p in enumerate(self.resolved) if _present(p)}
        return [p for i, p in enumerate(self.images) if i not in found]


def _present(path: Path) -> bool:
    """An image file, or a series folder that holds files."""
    return path.is_file() or (path.is_dir() and any(p.is_file() for p in path.iterdir()))


class RunnerInput(BaseModel):
    """Everything a runner is allowed to see: no ids, sources, original paths or file names."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="Question stem, <image> placeholders stripped")
    options: dict[str, str] = Field(default_factory=dict)
    images: list[Path] = Field(default_factory=list, description="Neutral copies: img_0.png, img_1.nii.gz, img_2/ ...")
    image_meta: list[dict[str, Any]] | None = None
    patient_id: str | None = None

    @property
    def closed(self) -> bool:
        """True when the question has lettered options."""
        return len(self.options) >= 2

    def full_question(self) -> str:
        """The stem followed by the option lines, as Med-MIM writes them."""
        lines = [self.question, *(f"{k}: {v}" for k, v in self.options.items())]
        return "\n".join(lines)


class RunnerOutput(BaseModel):
    """What a runner returns for one item."""

    text: str = ""
    letter: str | None = None
    status: Literal["ok", "abstained", "tool_failed"] = "ok"
    abstain_reason: str | None = None
    expected_score: float | None = Field(default=None, description="Exact expected accuracy (chance)")
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    steps: list[dict[str, Any]] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    usage: dict[str, Any] = Field(default_factory=dict)


class ItemRecord(BaseModel):
    """One finished item in the run store (one JSONL line, one SQLite row)."""

    key: str
    file: str
    index: int
    subset: str
    ability: str
    source: str
    closed: bool
    n_options: int
    gold_letter: str | None
    gold_text: str
    status: ItemStatus
    runner: str
    text: str = ""
    letter: str | None = None
    score: float | None = Field(default=None, description="Closed items: 1/0, or an exact expectation")
    open_scores: dict[str, float] = Field(default_factory=dict)
    abstain_reason: str | None = None
    error: str | None = None
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    steps: list[dict[str, Any]] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    latency_s: float = 0.0
    finished_at: str = ""
