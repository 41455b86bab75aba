"""``python -m mimir.evals ...``: the ``mimir eval`` commands without loading the rest of the CLI."""

from __future__ import annotations

import typer

from mimir.evals.cli import register

app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False)
register(app)

if __name__ == "__main__":
    app()
