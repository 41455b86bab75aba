"""Domain types shared by every part of mimir: cases, references, answers, events.

Images are referenced by index in the case (0-based, in the order given) and, once ingested, by
timeline id; never by pixels.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mimir import code_legend

Ability = Literal["temporal", "comparison", "coreference", "reasoning", "other"]
ABILITIES: tuple[Ability, ...] = ("temporal", "comparison", "coreference", "reasoning", "other")
Laterality = Literal["L", "R", "B"]


class CaseImage(BaseModel):
    """One image of a case; every field but ``path`` is optional (Med-MIM items carry only paths)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    study_date: date | None = None
    study_time: str | None = None
    modality: str | None = None
    series_description: str | None = None
    view: str | None = None
    laterality: Laterality | None = None
    body_part: str | None = None
    image_id: int | None = Field(default=None, ge=1, le=2**53 - 1, description="Timeline Image id, set at intake")


class Case(BaseModel):
    """A question about an ordered list of images, optionally for a known patient.

    A question about a patient alone ("has it grown since the prior?") has no images: the planner
    takes them from the patient's timeline.
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    images: list[CaseImage] = Field(default_factory=list, description="Empty: the patient's timeline provides them")
    patient_id: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> Case:
        """Read a case file; relative image paths are taken relative to the file."""
        p = Path(path)
        try:
            raw = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"Case file {p} is not valid JSON: {e}") from e
        case = cls.model_validate(raw)
        for img in case.images:
            if not Path(img.path).is_absolute():
                img.path = str((p.parent / img.path).resolve())
        return case


_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])[:).]\s*(.+?)\s*$")
#: A quiz card's labels around the stem: "Q: ... A: ___", "Question 3. ... Answer:" (the answer slot left blank).
_QUIZ_PROMPT = re.compile(r"^\s*(?:Q\d*|Question(?:\s*\d+)?)\s*[:.)]\s+", re.IGNORECASE)
_QUIZ_SLOT = re.compile(r"\s+(?:A|Ans|Answer)\s*[:.]\s*(?:_+|\.{3,}|\[\s*\])?\s*$", re.IGNORECASE)


class ParsedQuestion(BaseModel):
    """A question split into its stem and lettered options (Med-MIM's trailing ``A: ...`` lines)."""

    stem: str
    options: dict[str, str] = Field(default_factory=dict)

    @property
    def closed(self) -> bool:
        """True when the question has lettered options."""
        return len(self.options) >= 2


def parse_question(text: str) -> ParsedQuestion:
    """Split a question into stem and trailing lettered option lines ``A: ...``.

    Leading ``<image>`` placeholders are removed. Option lines must be consecutive letters from A.
    Options written as codes the stem defines ("Code 1 = grown, 0 = not grown") are given their meaning
    (:mod:`mimir.code_legend`).
    """
    text = re.sub(r"^(\s*<image>)+", "", text).strip("\n")
    lines = text.split("\n")
    options: dict[str, str] = {}
    cut = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if not line.strip() and not options:
            cut = i
            continue
        m = _OPTION_LINE.match(line)
        if not m:
            break
        options[m.group(1)] = m.group(2)
        cut = i
        if m.group(1) == "A":  # the first option: a line above it is the stem's ("Q: ... A: ___")
            break
    letters = sorted(options)
    if len(letters) < 2 or letters != [chr(ord("A") + k) for k in range(len(letters))]:
        return ParsedQuestion(stem=_without_quiz_labels(text.strip()))
    stem = _without_quiz_labels("\n".join(lines[:cut]).strip())
    return ParsedQuestion(stem=stem, options=code_legend.decode(stem, {k: options[k] for k in letters}))


def _without_quiz_labels(stem: str) -> str:
    """The stem without a quiz card's "Q:" before it and blank "A: ___" after it: labels, not words of the question."""
    if not _QUIZ_PROMPT.match(stem):
        return stem
    return _QUIZ_SLOT.sub("", _QUIZ_PROMPT.sub("", stem, count=1)).strip()


class Binding(BaseModel):
    """A mention in the question bound to image indices."""

    mention: str
    image_indices: list[int]
    confidence: float = Field(ge=0.0, le=1.0)
    candidates: list[list[int]] = Field(default_factory=list, description="Readings when ambiguous")
    reason: str = ""
    unbound: bool = Field(False, description="The mention refers to an image named nowhere before it ('the scan after "
                                             "it' with no antecedent): it binds no image, and no default is taken")


class Resolution(BaseModel):
    """The resolver's output, in the shape ``mimir resolve --json`` prints."""

    bindings: list[Binding] = Field(default_factory=list)
    ambiguous: bool = False


class Evidence(BaseModel):
    """What supports one statement of an answer."""

    statement: str
    tool_run_ids: list[int] = Field(default_factory=list)
    image_indices: list[int] = Field(default_factory=list)
    values: dict[str, float | str] = Field(default_factory=dict)


#: How a tool call ended: ran, came from the cache, refused the input, got bad arguments, is not
#: installed here, or failed with an error.
StepStatus = Literal["ok", "cached", "cannot", "bad_arguments", "unavailable", "failed"]


class ToolStep(BaseModel):
    """One tool call of an answer: what ran, on which images, how long, with what result."""

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    image_indices: list[int] = Field(default_factory=list)
    status: StepStatus = "ok"
    summary: str = ""
    tool_run_id: int | None = None
    duration_s: float = 0.0
    artifacts: list[str] = Field(default_factory=list)


AnswerStatus = Literal["ok", "abstained", "tool_failed"]


class Answer(BaseModel):
    """The agent's answer with its evidence; the same object in CLI, API, chat and evals."""

    text: str
    letter: str | None = Field(default=None, description="Option letter for closed questions")
    status: AnswerStatus = "ok"
    abstain_reason: str | None = None
    ability: Ability = "other"
    closed: bool = False
    evidence: list[Evidence] = Field(default_factory=list)
    steps: list[ToolStep] = Field(default_factory=list)
    resolution: Resolution = Field(default_factory=Resolution)
    policy_notes: list[str] = Field(default_factory=list, description="Batch decisions taken by policy")
    timings: dict[str, float] = Field(default_factory=dict)


EventKind = Literal[
    "step_started", "step_finished", "tool_started", "tool_progress", "tool_result",
    "interrupt", "token", "answer", "error", "question", "case",
]


class Event(BaseModel):
    """A streamed event (CLI live view, SSE, chat)."""

    kind: EventKind
    node: str | None = None
    tool: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    at: datetime = Field(default_factory=datetime.now)
