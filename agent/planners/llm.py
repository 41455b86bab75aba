"""The LLM planner: a chat model on an OpenAI-compatible server (langchain-openai).

With tool calling (the default) the graph runs a ReAct loop (``llm_agent`` <-> ``llm_tools``) over the
registry's tools. For servers without tool calling, ``tool_calling=False`` asks for a structured JSON
plan each round instead, executed by the same plan/act/check loop as the rules planner.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr

from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.planners.common import abstain
from mimir.agent.state import Draft, PlannedCall

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from mimir.settings import Settings



@functools.cache
def system_prompt() -> str:
    """The planner's system message, from the data file ``prompts/planner.yaml``."""
    import jinja2
    import yaml

    data = yaml.safe_load(importlib.resources.files("mimir.prompts").joinpath("planner.yaml").read_text())
    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(data["system"]).render()


def make_chat_model(settings: Settings) -> BaseChatModel:
    """ChatOpenAI against ``settings.planner_base_url`` / ``planner_model``."""
    from langchain_openai import ChatOpenAI

    if not settings.planner_base_url or not settings.planner_model:
        raise ValueError("The llm planner needs MIMIR_PLANNER_BASE_URL and MIMIR_PLANNER_MODEL "
                         "(an OpenAI-compatible server with a chat model)")
    return ChatOpenAI(base_url=settings.planner_base_url, model=settings.planner_model,
                      api_key=SecretStr(settings.planner_api_key), temperature=0.0, timeout=settings.planner_timeout_s)


def describe_case(view_case: Any, question: str, timeline: Any | None = None) -> str:
    """The user message: the question and each image's metadata (paths are never needed)."""
    lines = [question, "", "Images:"]
    for i, img in enumerate(view_case.images):
        meta = {k: v for k, v in img.model_dump(mode="json", exclude={"path", "image_id"}).items() if v}
        lines.append(f"- image {i}: {json.dumps(meta) if meta else 'no metadata'}")
    if timeline is not None and timeline.studies:
        lines.append(f"Timeline studies: {json.dumps(timeline.studies, default=str)}")
    if timeline is not None and timeline.trajectories:
        lines.append(f"Earlier measurements (timeline findings): {json.dumps(timeline.trajectories, default=str)}")
    return "\n".join(lines)


_ANSWER = re.compile(r"ANSWER:\s*\(?([A-Z])\b")
_ABSTAIN = re.compile(r"ABSTAIN:\s*(.+)", re.S)


def draft_from_text(text: str, options: dict[str, str]) -> Draft:
    """The final message as a draft: the letter after 'ANSWER:', or an abstention."""
    if m := _ABSTAIN.search(text):
        return abstain(m.group(1).strip().rstrip("."))
    if options:
        m = _ANSWER.search(text)
        if m is None or m.group(1) not in options:
            return abstain(f"the planner's reply named no option: {text[:120]!r}")
        return Draft(letter=m.group(1), text=text.strip())
    return Draft(text=text.strip())


class JsonStep(BaseModel):
    """One round of a JSON plan: tool calls to make next, or the final answer."""

    calls: list[PlannedCall] = Field(default_factory=list, description="Tool calls to run now, in parallel")
    final: str | None = Field(default=None, description="'ANSWER: <letter>' / text, or 'ABSTAIN: <reason>'")


def _structured_kwargs(model: BaseChatModel) -> dict[str, Any]:
    """OpenAI-compatible servers without tool calling take a JSON-schema response format."""
    from langchain_openai import ChatOpenAI

    return {"method": "json_schema"} if isinstance(model, ChatOpenAI) else {}


class LLMPlanner:
    """A chat model as planner; ``tool_calling`` selects the ReAct loop or JSON plans."""

    name = "llm"

    def __init__(self, model: BaseChatModel, *, tool_calling: bool = True) -> None:
        self.model = model
        self.tool_calling = tool_calling

    def next(self, view: PlanView) -> Decision:
        """JSON mode: ask for the next calls (seeing earlier results) or the final answer."""
        done = [{"tool": r.call.tool, "args": r.call.args, "result": r.result, "error": r.error}
                for r in view.records]
        prompt = (describe_case(view.case, view.case.question, view.timeline)
                  + f"\nAvailable tools: {sorted(view.available)}\nResults so far: {json.dumps(done, default=str)}")
        structured = self.model.with_structured_output(JsonStep, **_structured_kwargs(self.model))
        step = structured.invoke([("system", system_prompt()), ("human", prompt)])
        if not isinstance(step, JsonStep):
            raise TypeError(f"the planner model returned {type(step).__name__}, not a JSON plan")
        if step.final is not None or not step.calls:
            return draft_from_text(step.final or "ABSTAIN: the planner gave no plan", view.question.options)
        fresh = [c for c in step.calls if not view.attempted(c)]
        return fresh or abstain("the planner repeated calls that were already made")
