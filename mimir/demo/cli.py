"""``mimir demo build`` and ``mimir demo load`` (``mimir demo quickstart`` is added by the app layer)."""

from __future__ import annotations

from pathlib import Path

import typer

demo_app = typer.Typer(help="Demo patients with known ground truth, and their Med-MIM style questions.", no_args_is_help=True)


@demo_app.command("build")
def build_cmd(
    out: Path = typer.Option(Path("demo"), "--out", help="Output folder (empty, or a previous demo set)"),
    patients: int = typer.Option(50, "--patients", min=1, help="Number of patients"),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, byte-identical files"),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes"),
    series: bool = typer.Option(True, "--series/--no-series", help="Also write full DICOM series"),
    nifti: bool = typer.Option(True, "--nifti/--no-nifti", help="Also write NIfTI volumes"),
    kinds: str | None = typer.Option(None, "--kinds", help="Comma-separated kinds to make: mri, ct, fundus, cxr, mg "
                                                          "(default: all)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Generate longitudinal demo patients (PNG, DICOM, NIfTI), ground truth and question files."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions
    from mimir.output import emit, err_console, fail

    columns = (TextColumn("building patients"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("build", total=patients)
            chosen = tuple(k.strip() for k in kinds.split(",") if k.strip()) if kinds else None
            result = build_demo(out, patients, seed, workers, BuildOptions(series=series, nifti=nifti, kinds=chosen),  # type: ignore[arg-type]
                                progress=lambda n: bar.advance(task, n))
    except (FileExistsError, ValueError) as e:
        fail(str(e))
        return
    lines = [f"{result.patients} patients, {result.images} images in {result.seconds:.1f} s -> {out}"]
    lines += [f"  {f.file}: {f.items} items ({f.closed} closed, {f.open} open)" for f in result.files]
    emit(result, as_json=as_json, human="\n".join(lines))


@demo_app.command("load")
def load_cmd(
    out: Path = typer.Argument(..., help="A folder written by `mimir demo build`"),
    png: bool = typer.Option(True, "--png/--no-png", help="Also ingest the PNGs (metadata from manifest.csv)"),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON"),
) -> None:
    """Ingest a demo set into the patient timeline."""
    from rich.progress import Progress

    from mimir.demo.load import load_demo
    from mimir.memory.db import open_database
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


# `mimir demo quickstart` (build, load and ask in one go) is registered by the app layer on demo_app.


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command group."""
    app.add_typer(demo_app, name="demo")
