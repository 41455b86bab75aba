"""``mimir export THREAD --dicom``: an answered thread's SEG, SR and summary, optionally stored on the PACS."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from mimir.domain import Answer, Case
    from mimir.settings import Settings


def export(
    thread: str = typer.Argument(..., help="Thread id of an answered question (mimir ask --thread, or a review)"),
    dicom: bool = typer.Option(False, "--dicom", help="Write DICOM SEG and a TID 1500 SR (the only format here)"),
    out: Path | None = typer.Option(None, "--out", help="Folder (default: <data dir>/exports/<thread>-dicom)"),
    stow: bool = typer.Option(False, "--stow", help="Also store the objects on the PACS (MIMIR_PACS__URL, STOW-RS)"),
    as_json: bool = typer.Option(False, "--json", help="Print the export report as JSON"),
) -> None:
    """Write an answer's segmentations as DICOM SEG and its measurements and evidence as a DICOM SR."""
    from mimir.memory.db import open_database
    from mimir.memory.ingest.pacs_client import PacsError
    from mimir.output import emit, fail
    from mimir.results.export import MixedPatients, export_answer
    from mimir.results.stow import store
    from mimir.settings import Settings

    if not dicom:
        fail("Choose a format: --dicom (the Markdown export is the review screen's Export button)")
    settings = Settings().ensure_dirs()
    case, answer = _thread(settings, thread)
    db = open_database(settings)
    try:
        report, datasets = export_answer(db, case, answer, out or settings.data_dir / "exports" / f"{thread}-dicom")
        if stow:
            report.stored = store(settings, datasets)
    except (MixedPatients, PacsError) as e:
        fail(str(e), code=1)
        return
    finally:
        db.dispose()
    lines = [f"{o.kind:4} {o.path}" for o in report.objects]
    lines += [f"not written as {r.kind}: {r.reason}" for r in report.refused]
    lines += [f"stored on the PACS: {len(report.stored)} objects"] if stow else []
    emit(report, as_json=as_json, human=escape("\n".join(lines)))


def _thread(settings: Settings, thread: str) -> tuple[Case, Answer]:
    """The case and the answer of a thread, from the checkpointer every question is recorded in."""
    from mimir.agent.checkpoint import open_checkpointer
    from mimir.agent.graph import build_graph
    from mimir.output import fail

    values = build_graph(open_checkpointer(settings)).get_state({"configurable": {"thread_id": thread}}).values
    if not values.get("answer"):
        fail(f"Thread '{thread}' has no answer yet; ask with `mimir ask --thread {thread} ...` first")
    return values["case"], values["answer"]


def register(app: typer.Typer) -> None:
    """Add ``mimir export``."""
    app.command("export")(export)
