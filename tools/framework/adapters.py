"""Expose registered tools to LangChain / LangGraph as ``StructuredTool`` objects.

The model reads compact JSON of the result (no pixels); the artifact carries the ToolRun id and
file paths for the graph. Every error comes back to the model as a ``ToolException`` message
(handled by the tool itself, ``handle_tool_error=True``), in words that say which kind it is:
wrong arguments (retry), an input the tool cannot handle (choose another route), and a fault inside
the tool (logged with its traceback; the step is recorded as failed). :func:`error_status` reads
the kind back. The same policy as the rules planner's ``act`` node (docs/tools.md, "Errors").
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.tools import StructuredTool, ToolException

from mimir.domain import StepStatus
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle, ToolUnavailable

log = logging.getLogger(__name__)

#: The start of each kind of error message, and the step status it is recorded as.
ERROR_KINDS: dict[str, StepStatus] = {
    "Invalid arguments, please retry: ": "bad_arguments",
    "The tool is not available here: ": "unavailable",
    "The tool cannot handle this input: ": "cannot",
    "The tool failed, its result is unknown (do not guess it): ": "failed",
}


def error_status(message: str) -> StepStatus:
    """The step status of a tool's error message; ``ToolNode``'s own messages are invalid arguments.

    ``ToolNode`` checks the arguments against the input model before the tool runs and answers an
    invalid call itself; every other error message is written by :func:`to_langchain`.
    """
    return next((status for start, status in ERROR_KINDS.items() if message.startswith(start)), "bad_arguments")


def error_detail(message: str) -> str:
    """The error itself, without the words that say its kind."""
    return next((message[len(start):] for start in ERROR_KINDS if message.startswith(start)), message)


def _message(status: StepStatus, text: str) -> str:
    return next(start for start, s in ERROR_KINDS.items() if s == status) + text

if TYPE_CHECKING:
    from mimir.tools.framework.registry import ToolSpec
    from mimir.tools.framework.runner import ToolOutcome


class CallRunner(Protocol):
    """What runs a tool call: a :class:`~mimir.tools.framework.runner.ToolRunner`, or anything with its ``call``."""

    def call(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        """Run tool ``name`` with ``args``."""
        ...


def compact_content(outcome: ToolOutcome) -> str:
    """The JSON a model reads: the result without None fields, plus run id and cache flag."""
    body = outcome.result.model_dump(mode="json", exclude_none=True)
    body.pop("findings", None)
    body["tool_run_id"] = outcome.tool_run_id
    if outcome.cached:
        body["cached"] = True
    return json.dumps(body, separators=(",", ":"), default=str)


def to_langchain(spec: ToolSpec, runner: CallRunner) -> StructuredTool:
    """A StructuredTool that calls ``spec`` through ``runner`` (content and artifact)."""

    def call(**kwargs: Any) -> tuple[str, dict[str, Any]]:
        try:
            outcome = runner.call(spec.name, kwargs)
        except ToolArgumentError as e:
            raise ToolException(_message("bad_arguments", str(e))) from e
        except ToolCannotHandle as e:
            status: StepStatus = "unavailable" if isinstance(e, ToolUnavailable) else "cannot"
            raise ToolException(_message(status, str(e))) from e
        except Exception as e:  # a fault inside the tool or its engine: recorded as a failed step
            log.exception("tool %s failed on %s", spec.name, kwargs)
            raise ToolException(_message("failed", f"{type(e).__name__}: {e}")) from e
        artifact = {
            "tool_run_id": outcome.tool_run_id, "artifacts": outcome.artifacts,
            "cached": outcome.cached, "duration_s": outcome.duration_s,
        }
        return compact_content(outcome), artifact

    return StructuredTool.from_function(
        func=call, name=spec.name, description=spec.description, args_schema=spec.input_model,
        response_format="content_and_artifact", handle_tool_error=True,
    )
