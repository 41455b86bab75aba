"""``mimir tools list`` and ``mimir tools run``: inspect and call registered tools."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mimir.output import emit, fail

tools_app = typer.Typer(help="List and run mimir's tools.", no_args_is_help=True)


@tools_app.command("list")
def list_tools(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Every tool with its schema and whether it can run here (and why not)."""
    from mimir.settings import Settings
    from mimir.tools import build_registry

    settings = Settings()
    described = [spec.describe(settings) for spec in build_registry(settings)]
    lines = [
        f"{d['name']:<20} {'ok' if d['available'] else 'unavailable: ' + str(d['unavailable_reason'])}"
        for d in described
    ]
    emit(described, as_json=as_json, human="\n".join(lines))


@tools_app.command("run")
def run_tool(
    name: str = typer.Argument(..., help="Tool name, e.g. segment"),
    case: Path = typer.Option(..., "--case", help="Case JSON file (question and images)"),
    args: str = typer.Option("{}", "--args", help='Tool arguments as JSON, e.g. \'{"image_index": 0}\''),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Run one tool on a case's images and print its result."""
    from mimir.domain import Case
    from mimir.memory.db import open_database
    from mimir.settings import Settings
    from mimir.tools import build_registry
    from mimir.tools.framework.context import ToolContext
    from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle
    from mimir.tools.framework.runner import ToolRunner

    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as e:
        fail(f"--args is not valid JSON: {e}")
    loaded = Case.load(case)
    settings = Settings().ensure_dirs()
    db = open_database(settings)  # results are cached in, and recorded to, the timeline
    try:
        with db.session() as session:
            ctx = ToolContext(settings, images=loaded.images, session=session, patient_id=loaded.patient_id)
            outcome = ToolRunner(build_registry(settings), ctx).call(name, parsed)
    except ToolArgumentError as e:
        fail(str(e))
    except ToolCannotHandle as e:
        fail(f"{name} cannot handle this input: {e}", code=3)
    finally:
        db.dispose()
    body = {"tool": name, "cached": outcome.cached, "duration_s": round(outcome.duration_s, 3),
            "artifacts": outcome.artifacts, "result": outcome.result}
    emit(body, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add the ``tools`` command group to mimir's CLI."""
    app.add_typer(tools_app, name="tools")
