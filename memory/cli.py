"""``mimir ingest``, ``mimir resolve``, ``mimir db upgrade`` and ``mimir timeline``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

db_app = typer.Typer(help="The timeline database.", no_args_is_help=True)


def ingest(
    paths: list[Path] = typer.Argument(..., help="DICOM, NIfTI, PNG/JPEG files or folders"),
    manifest: Path | None = typer.Option(None, "--manifest", help="CSV/JSON rows: patient, date, modality, ..., path"),
    copy: bool = typer.Option(False, "--copy", help="Copy files into the data dir (default: reference in place)"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Add image files to the patient timeline; prints one status per file."""
    from rich.progress import Progress

    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths
    from mimir.output import emit, err_console
    from mimir.settings import Settings

    settings = Settings()
    db = open_database(settings)
    with Progress(console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("ingesting", total=None)

        def _tick(done: int, total: int, _path: str) -> None:
            bar.update(task, completed=done, total=total)

        report = ingest_paths(db, paths, settings, manifest=manifest, progress=_tick, copy=copy)
    db.dispose()
    if as_json:
        emit({"counts": report.counts, "items": report.items}, as_json=True)
        return
    lines = [f"{i.status:9} {i.path}" + (f"  ({i.reason})" if i.reason else "") for i in report.items]
    counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
    emit(report, as_json=False, human=escape("\n".join([*lines, counts])))


def resolve_cmd(
    case: Path = typer.Option(..., "--case", exists=True, dir_okay=False, help="Case JSON file"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Show which images the question's mentions refer to."""
    from mimir.domain import Case
    from mimir.memory.resolver import resolve
    from mimir.output import emit, fail

    try:
        loaded = Case.load(case)
    except ValueError as e:
        fail(str(e))
        return
    res = resolve(loaded)
    human = "\n".join(
        f"{b.mention!r} -> {b.image_indices} ({b.confidence:.2f}){' AMBIGUOUS ' + str(b.candidates) if b.candidates else ''}"
        for b in res.bindings
    ) or "no mentions"
    emit(res, as_json=as_json, human=escape(human))


def upgrade() -> None:
    """Create or migrate the timeline database to the latest schema."""
    from mimir.memory.db import open_database
    from mimir.output import emit
    from mimir.settings import Settings

    settings = Settings()
    open_database(settings).dispose()
    emit({"database": settings.db_url.split("@")[-1], "revision": "head"}, as_json=True)


def timeline(
    patient: str = typer.Argument(..., help="External patient id (DICOM PatientID, manifest patient)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List a patient's studies in date order with their series."""
    from mimir.memory.db import open_database
    from mimir.memory.timeline import patient_timeline
    from mimir.output import emit, fail
    from mimir.settings import Settings

    db = open_database(Settings())
    with db.session() as s:
        view = patient_timeline(s, patient)
    db.dispose()
    if view is None:
        fail(f"Unknown patient '{patient}'; ingest their images first (mimir ingest PATH)")
        return
    human = "\n".join(f"{st.study_date or 'undated'}  {st.modality or '?':4} {st.description or ''}  "
                      f"({len(st.series)} series)" for st in view.studies)
    emit(view, as_json=as_json, human=escape(human or "no studies"))


def register(app: typer.Typer) -> None:
    """Add the timeline commands to the ``mimir`` CLI."""
    app.command("ingest")(ingest)
    app.command("resolve")(resolve_cmd)
    app.command("timeline")(timeline)
    db_app.command("upgrade")(upgrade)
    app.add_typer(db_app, name="db")
