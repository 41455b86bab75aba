"""An optional LLM judge for open answers, through an OpenAI-compatible endpoint, with a fixed rubric.

The rubric is the data file ``prompts/judge_rubric.yaml``; scores are 0, 0.5 or 1 and are stored as
``open_scores["judge"]``. The judge sees the question, the reference and the answer, never images,
ids or sources.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from typing import Any

import jinja2
import yaml

from mimir.evals.items import EXCLUDED, EvalItem, ItemRecord
from mimir.evals.runners.base import InfraError, RunnerConfigError

_JSON = re.compile(r"\{.*\}", re.S)


def load_rubric() -> dict[str, Any]:
    """The judge rubric shipped in ``mimir.prompts``."""
    text = importlib.resources.files("mimir.prompts").joinpath("judge_rubric.yaml").read_text()
    return yaml.safe_load(text)


class Judge:
    """Grades open answers with a fixed rubric (temperature 0)."""

    def __init__(self, base_url: str | None, model: str | None, api_key: str = "EMPTY", timeout_s: float = 120.0) -> None:
        if not base_url or not model:
            raise RunnerConfigError("The LLM judge needs --judge-base-url and --judge-model")
        import openai

        self._openai = openai
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=2)
        self.model = model
        rubric = load_rubric()
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
        self._system = rubric["system"]
        self._user = env.from_string(rubric["user"])

    def grade(self, question: str, reference: str, answer: str) -> float:
        """0, 0.5 or 1; an unparseable verdict is an infrastructure error (the judge failed)."""
        try:
            reply = self._client.chat.completions.create(
                model=self.model, temperature=0.0, max_tokens=200,
                messages=[{"role": "system", "content": self._system},
                          {"role": "user", "content": self._user.render(question=question, reference=reference, answer=answer)}],
            )
        except self._openai.APIError as e:
            raise InfraError(f"judge request failed: {e}") from e
        text = reply.choices[0].message.content or ""
        m = _JSON.search(text)
        try:
            score = float(json.loads(m.group(0))["score"]) if m else None
        except (ValueError, KeyError, TypeError):
            score = None
        if score not in (0.0, 0.5, 1.0):
            raise InfraError(f"judge reply is not a rubric verdict: {text[:120]!r}")
        return float(score)


def judge_open(judge: Judge, items: list[EvalItem], records: dict[str, ItemRecord]) -> list[ItemRecord]:
    """Judge the open answered items that have no judge score yet; return the updated records."""
    updated = []
    for it in items:
        rec = records.get(it.key)
        if rec is None or rec.closed or rec.status in EXCLUDED or "judge" in rec.open_scores:
            continue
        score = judge.grade(it.stem, it.gold_text, rec.text)
        updated.append(rec.model_copy(update={"open_scores": {**rec.open_scores, "judge": score}}))
    return updated
