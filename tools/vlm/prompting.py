"""Render mimir's VLM prompts (``prompts/vlm.yaml``) with a strict template engine."""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from pydantic import BaseModel

PromptName = Literal["closed", "open", "describe", "synthesis_closed", "synthesis_open"]


class RenderedPrompt(BaseModel):
    """One system message and one user text."""

    system: str
    user: str


class PromptBook:
    """The prompt templates of one YAML file, with per-profile overrides."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self._compiled: dict[str, jinja2.Template] = {}

    @classmethod
    def from_file(cls, path: Path) -> PromptBook:
        """Load a prompt file."""
        return cls(yaml.safe_load(path.read_text()))

    def template(self, name: PromptName, part: Literal["system", "user"], profile: str | None) -> str:
        """The raw template text, overridden for ``profile`` when the file says so."""
        override = self._data.get("overrides", {}).get(profile or "", {}).get(name, {})
        if part in override:
            return str(override[part])
        if name not in self._data:
            raise KeyError(f"prompt {name!r} is not in the prompt file; known: {sorted(self._data)}")
        return str(self._data[name][part])

    def _compile(self, text: str) -> jinja2.Template:
        """Compile a template once; later renders reuse it."""
        if text not in self._compiled:
            self._compiled[text] = self._env.from_string(text)
        return self._compiled[text]

    def render(
        self, name: PromptName, *, profile: str | None = None, system_override: str | None = None, **variables: Any
    ) -> RenderedPrompt:
        """Render ``name``; ``system_override`` (a profile's system prompt) replaces the base text."""
        base = system_override or str(self._data["system"]).strip()
        parts = {}
        for part in ("system", "user"):
            parts[part] = self._compile(self.template(name, part, profile)).render(base=base, **variables).strip()
        return RenderedPrompt(**parts)


@functools.cache
def default_book() -> PromptBook:
    """The prompts shipped in ``mimir.prompts``."""
    path = Path(str(importlib.resources.files("mimir.prompts").joinpath("vlm.yaml")))
    return PromptBook.from_file(path)


def option_list(options: dict[str, str]) -> list[dict[str, str]]:
    """Options as template data, in letter order."""
    return [{"letter": k, "text": v} for k, v in sorted(options.items())]
