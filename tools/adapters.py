"""Expose registered tools to LangChain / LangGraph as ``StructuredTool`` objects.

The model reads compact JSON of the result (no pixels); the artifact carries the ToolRun id and
file paths for the graph. Wrong arguments and inputs a tool cannot handle come back to the model as
``ToolException`` messages (handled by the tool itself, ``handle_tool_error=True``), so LangGraph's
``ToolNode`` passes them on as tool messages; every other error propagates, as ToolNode's default
``handle_tool_errors`` re-raises anything that is not an invocation error.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from langchain_core.tools import StructuredTool, ToolException

from mimir.tools.errors import ToolArgumentError, ToolCannotHandle

if TYPE_CHECKING:
    from mimir.tools.registry import ToolSpec
    from mimir.tools.runner import ToolOutcome, ToolRunner


def compact_content(outcome: ToolOutcome) -> str:
    """The JSON a model reads: the result without None fields, plus run id and cache flag."""
    body = outcome.result.model_dump(mode="json", exclude_none=True)
    body.pop("findings", None)
    body["tool_run_id"] = outcome.tool_run_id
    if outcome.cached:
        body["cached"] = True
    return json.dumps(body, separators=(",", ":"), default=str)


def to_langchain(spec: ToolSpec, runner: ToolRunner) -> StructuredTool:
    """A StructuredTool that calls ``spec`` through ``runner`` (content and artifact)."""

    def call(**kwargs: Any) -> tuple[str, dict[str, Any]]:
        try:
            outcome = runner.call(spec.name, kwargs)
        except ToolArgumentError as e:
            raise ToolException(f"Invalid arguments, please retry: {e}") from e
        except ToolCannotHandle as e:
            raise ToolException(f"The tool '{spec.name}' cannot handle this input: {e}") from e
        artifact = {
            "tool_run_id": outcome.tool_run_id, "artifacts": outcome.artifacts,
            "cached": outcome.cached, "duration_s": outcome.duration_s,
        }
        return compact_content(outcome), artifact

    return StructuredTool.from_function(
        func=call, name=spec.name, description=spec.description, args_schema=spec.input_model,
        response_format="content_and_artifact", handle_tool_error=True,
    )
