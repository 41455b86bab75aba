"""The CLI's output layer: the one place that prints."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

console = Console(stderr=False)
err_console = Console(stderr=True)


def to_jsonable(obj: Any) -> Any:
    """Turn pydantic models (and lists/dicts of them) into JSON-ready data."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    return obj


def emit(obj: Any, *, as_json: bool, human: str | None = None) -> None:
    """Print ``obj`` as JSON (machine) or ``human`` text (defaults to pretty JSON)."""
    if as_json:
        sys.stdout.write(json.dumps(to_jsonable(obj), default=str) + "\n")
        sys.stdout.flush()
    elif human is not None:
        console.print(human)
    else:
        console.print_json(json.dumps(to_jsonable(obj), default=str))


def fail(message: str, code: int = 2) -> None:
    """Print an error for a person and exit (the message is plain text: brackets such as mimir[ui] stay)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise SystemExit(code)
