"""The ``mimir`` command line: a thin shell that parses, calls library code and prints.

Each part of mimir contributes its commands through a ``register(app)`` function in its own
``cli`` module; the list below is the one place they are collected.
"""

from __future__ import annotations

import importlib
import logging

import typer

from mimir import __version__

app = typer.Typer(
    name="mimir",
    help="Answer clinical questions about several medical images at once.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

#: Modules whose ``register(app)`` adds commands, in help order.
COMMAND_MODULES = (
    "mimir.memory.cli",       # ingest, resolve, db, timeline, demo load
    "mimir.demo.cli",         # demo build
    "mimir.evals.quickstart",  # demo quickstart
    "mimir.tools.cli",        # tools list|run
    "mimir.tools.experts.cli",  # experts train|evaluate
    "mimir.tools.vlm.cli",    # vlm check, serve-vlm
    "mimir.tools.retrieval.cli",  # index build|status
    "mimir.agent.cli",        # ask
    "mimir.evals.cli",        # eval, eval report, eval diff
    "mimir.app.cli",          # serve
    "mimir.results.cli",      # export --dicom
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level"),
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        from mimir.quiet import quiet_libraries

        quiet_libraries()


@app.command()
def version() -> None:
    """Print mimir's version."""
    from mimir.output import emit

    emit({"version": __version__}, as_json=True)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


def main() -> None:
    """Entry point of the ``mimir`` script; an optional feature used without its extra says what to install."""
    from mimir.extras import MissingExtra

    _register_all()
    try:
        app()
    except MissingExtra as e:
        from mimir.output import fail

        fail(str(e))
