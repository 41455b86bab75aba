"""``mimir ingest``, ``mimir resolve``, ``mimir db upgrade``, ``mimir timeline`` and ``mimir demo load``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from mimir.memory.db import Database
    from mimir.memory.ingest.ingest_report import IngestItem, IngestReport
    from mimir.settings import Settings

db_app = typer.Typer(help="The timeline database.", no_args_is_help=True)


def ingest(
    paths: list[Path] = typer.Argument(None, help="DICOM, NIfTI, PNG/JPEG files or folders"),
    manifest: Path | None = typer.Option(None, "--manifest", help="CSV/JSON rows: patient, date, modality, ..., path"),
    copy: bool = typer.Option(False, "--copy", help="Copy files into the data dir (default: reference in place)"),
    dicomweb: str | None = typer.Option(None, "--dicomweb", help="Pull from this DICOMweb server (QIDO-RS/WADO-RS) "
                                        "instead of files; credentials from MIMIR_PACS__*"),
    patient: str | None = typer.Option(None, "--patient", help="With --dicomweb: only this PatientID"),
    since: datetime | None = typer.Option(None, "--since", formats=["%Y-%m-%d"],
                                          help="With --dicomweb: studies on or after this date (YYYY-MM-DD)"),
    modality: str | None = typer.Option(None, "--modality", help="With --dicomweb: only these modalities, e.g. MR,CT"),
    refresh: bool = typer.Option(False, "--refresh", help="With --dicomweb: fetch again what this server delivered "
                                 "and replace images that changed there"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Add image files, or a PACS's studies (--dicomweb URL), to the patient timeline."""
    from rich.progress import Progress

    from mimir.memory.db import open_database
    from mimir.memory.ingest import ingest_paths
    from mimir.output import emit, err_console, fail
    from mimir.settings import Settings

    if bool(paths) == bool(dicomweb):
        fail("Give files or folders to ingest, or --dicomweb URL (not both)")
    if not dicomweb and (patient or since or modality or refresh):
        fail("--patient, --since, --modality and --refresh go with --dicomweb URL")
    settings = Settings()
    db = open_database(settings)
    try:
        with Progress(console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("ingesting" if paths else "series from the PACS", total=None)

            def _tick(done: int, total: int, _path: str) -> None:
                bar.update(task, completed=done, total=total)

            if dicomweb:
                report = _from_dicomweb(db, settings, dicomweb, patient, since, modality, refresh, _tick)
            else:
                report = ingest_paths(db, paths, settings, manifest=manifest, progress=_tick, copy=copy)
    finally:
        db.dispose()
    if as_json:
        emit({"counts": report.counts, "items": report.items}, as_json=True)
    else:
        lines = _pacs_lines(report) if dicomweb else [
            f"{i.status:9} {i.path}" + (f"  ({i.reason})" if i.reason else "") for i in report.items]
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        emit(report, as_json=False, human=escape("\n".join([*lines, counts])))
    if dicomweb and report.counts["failed"]:
        raise SystemExit(1)


def _from_dicomweb(db: Database, settings: Settings, url: str, patient: str | None, since: datetime | None,
                   modality: str | None, refresh: bool, tick: Callable[[int, int, str], None]) -> IngestReport:
    from mimir.memory.ingest.dicomweb import ingest_dicomweb
    from mimir.memory.ingest.pacs_client import PacsError
    from mimir.output import fail

    modalities = [m.strip().upper() for m in modality.split(",") if m.strip()] if modality else None
    try:
        return ingest_dicomweb(db, settings, url, patient=patient, since=since.date() if since else None,
                               modalities=modalities, refresh=refresh, progress=tick)
    except PacsError as e:
        fail(str(e), code=1)
        raise


def _pacs_lines(report: IngestReport) -> list[str]:
    """One line per study: its counts, and the reason of anything that failed."""
    studies: dict[str, list[IngestItem]] = {}
    for item in report.items:
        studies.setdefault(item.study_uid or "?", []).append(item)
    lines = []
    for uid, items in studies.items():
        counts = Counter(i.status for i in items)
        text = ", ".join(f"{counts[k]} {k}" for k in ("ingested", "skipped", "failed") if counts[k])
        lines.append(f"study {uid}: {text}")
        lines += sorted({f"  failed: {i.reason}" for i in items if i.status == "failed"})
    return lines


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


def demo_load(
    out: Path = typer.Argument(..., help="A folder written by `mimir demo build`"),
    png: bool = typer.Option(True, "--png/--no-png", help="Also ingest the PNGs (metadata from manifest.csv)"),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON"),
) -> None:
    """Ingest a demo set into the patient timeline."""
    from rich.progress import Progress

    from mimir.memory.db import open_database
    from mimir.memory.ingest.demo import load_demo
    from mimir.output import emit, err_console, fail
    from mimir.settings import Settings

    settings = Settings()
    db = open_database(settings)
    try:
        with Progress(console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("ingesting", total=None)
            report = load_demo(db, out, settings, include_png=png,
                               progress=lambda done, total, _p: bar.update(task, completed=done, total=total))
    except FileNotFoundError as e:
        fail(str(e))
        return
    finally:
        db.dispose()
    failed = [{"path": i.path, "reason": i.reason} for i in report.by_status("failed")]
    emit({"counts": report.counts, "failed": failed}, as_json=as_json,
         human=", ".join(f"{v} {k}" for k, v in report.counts.items()))


def register(app: typer.Typer) -> None:
    """Add the timeline commands to the ``mimir`` CLI, and ``load`` to the ``demo`` group."""
    from mimir.demo.cli import demo_app

    demo_app.command("load")(demo_load)
    app.command("ingest")(ingest)
    app.command("resolve")(resolve_cmd)
    app.command("timeline")(timeline)
    db_app.command("upgrade")(upgrade)
    app.add_typer(db_app, name="db")
