"""Baselines that need no images: uniform chance (exact), always-A, and a text-only LLM."""

from __future__ import annotations

import re
import time

from mimir.evals.items import RunnerInput, RunnerOutput
from mimir.evals.runners.base import InfraError, RunnerConfig, RunnerConfigError, letter_status

_LETTER = re.compile(r"\b([A-Z])\b")


class ChanceRunner:
    """Uniform guessing, reported as its exact expectation 1/len(options), never sampled."""

    name = "chance"
    needs_images = False

    def run(self, inp: RunnerInput) -> RunnerOutput:
        """Expected score of a uniform guess; open items get an empty answer."""
        if not inp.closed:
            return RunnerOutput(text="")
        return RunnerOutput(text="", expected_score=1.0 / len(inp.options))


class BlindFirstRunner:
    """Always answers option A (open items: an empty answer)."""

    name = "blind-first"
    needs_images = False

    def run(self, inp: RunnerInput) -> RunnerOutput:
        """Option A for closed items."""
        if not inp.closed:
            return RunnerOutput(text="")
        first = next(iter(inp.options))
        return RunnerOutput(text=f"{first}: {inp.options[first]}", letter=first)


def parse_letter(text: str, options: dict[str, str]) -> str | None:
    """The option letter a free-text reply chose: a leading letter, else an exact option text."""
    stripped = text.strip()
    m = re.match(r"^\(?([A-Z])(?:[:).\s]|$)", stripped)
    if m and m.group(1) in options:
        return m.group(1)
    low = stripped.lower().rstrip(".")
    for k, v in options.items():
        if low == v.lower().rstrip("."):
            return k
    found = [x for x in _LETTER.findall(stripped) if x in options]
    return found[0] if len(set(found)) == 1 else None


class BlindTextRunner:
    """The question without images, sent to an OpenAI-compatible chat endpoint."""

    name = "blind-text"
    needs_images = False

    def __init__(self, config: RunnerConfig) -> None:
        if not config.llm_base_url or not config.llm_model:
            raise RunnerConfigError(
                "The blind-text runner needs an OpenAI-compatible LLM: pass --llm-base-url and "
                "--llm-model (or set MIMIR_PLANNER_BASE_URL and MIMIR_PLANNER_MODEL)"
            )
        import openai

        self._openai = openai
        self._client = openai.OpenAI(base_url=config.llm_base_url, api_key=config.llm_api_key,
                                     timeout=config.llm_timeout_s, max_retries=1)
        self._model = config.llm_model

    def run(self, inp: RunnerInput) -> RunnerOutput:
        """Ask the LLM; no image is described or attached."""
        system = ("You answer medical questions about images you cannot see. "
                  + ("Reply with the letter of one option only." if inp.closed else "Answer briefly."))
        t0 = time.perf_counter()
        try:
            reply = self._client.chat.completions.create(
                model=self._model, temperature=0.0, max_tokens=64 if inp.closed else 256,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": inp.full_question()}],
            )
        except self._openai.APIError as e:
            raise InfraError(f"blind-text LLM request failed: {e}") from e
        text = reply.choices[0].message.content or ""
        letter = parse_letter(text, inp.options) if inp.closed else None
        return RunnerOutput(text=text, letter=letter, status=letter_status(letter, inp),
                            timings={"llm_s": time.perf_counter() - t0})
