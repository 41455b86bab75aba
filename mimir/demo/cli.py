"""``mimir demo build``; ``demo load`` and ``demo quickstart`` join this group from memory and evals."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import typer

if TYPE_CHECKING:
    from mimir.demo.truth import Kind

log = logging.getLogger(__name__)

demo_app = typer.Typer(help="Demo patients with known ground truth, and their Med-MIM style questions.", no_args_is_help=True)


def parse_kinds(text: str | None) -> tuple[Kind, ...] | None:
    """``--kinds mri,ct``: the kinds named, checked; None when none are named (every kind)."""
    from mimir.demo.truth import Kind

    known: tuple[Kind, ...] = get_args(Kind)
    named = [k.strip() for k in (text or "").split(",") if k.strip()]
    unknown = [k for k in named if k not in known]
    if unknown:
        raise ValueError(f"Unknown demo kind(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    return tuple(next(kind for kind in known if kind == k) for k in named) or None  # typed, in the order given


def kinds_here(kinds: tuple[Kind, ...] | None) -> tuple[Kind, ...] | None:
    """The kinds this install can build: head CT needs TotalSegmentator's CT atlas (the 'totalseg' extra).

    Asked for by name without the extra, CT fails with the extra named; left to the default, CT is
    left out and the reason is logged.
    """
    from mimir.demo.patient_plan import DEFAULT_KINDS
    from mimir.extras import missing_module, require_extra

    if missing_module("totalseg") is None:
        return kinds
    if kinds is not None and "ct" in kinds:
        require_extra("totalseg", "Head-CT demo patients (--kinds ct)")
    if kinds is None:
        log.warning("head-CT demo patients are left out: they need the 'totalseg' extra (pip install 'mimir[totalseg]')")
        return tuple(k for k in DEFAULT_KINDS if k != "ct")
    return kinds


@demo_app.command("build")
def build_cmd(
    out: Path = typer.Option(Path("demo"), "--out", help="Output folder (empty, or a previous demo set)"),
    patients: int = typer.Option(50, "--patients", min=1, help="Number of patients"),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, byte-identical files"),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes"),
    series: bool = typer.Option(True, "--series/--no-series", help="Also write full DICOM series"),
    nifti: bool = typer.Option(True, "--nifti/--no-nifti", help="Also write NIfTI volumes"),
    kinds: str | None = typer.Option(None, "--kinds", help="Comma-separated kinds to make: mri, ct, fundus, cxr, mg "
                                                          "(default: all; head CT needs the totalseg extra)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Generate longitudinal demo patients (PNG, DICOM, NIfTI), ground truth and question files."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions
    from mimir.extras import MissingExtra
    from mimir.output import emit, err_console, fail

    columns = (TextColumn("building patients"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("build", total=patients)
            chosen = kinds_here(parse_kinds(kinds))
            result = build_demo(out, patients, seed, workers, BuildOptions(series=series, nifti=nifti, kinds=chosen),
                                progress=lambda n: bar.advance(task, n))
    except (FileExistsError, ValueError, MissingExtra) as e:
        fail(str(e))
        return
    lines = [f"{result.patients} patients, {result.images} images in {result.seconds:.1f} s -> {out}"]
    lines += [f"  {f.file}: {f.items} items ({f.closed} closed, {f.open} open)" for f in result.files]
    emit(result, as_json=as_json, human="\n".join(lines))


# `mimir demo load` (memory.cli) and `mimir demo quickstart` (evals.quickstart) are added to demo_app
# by the parts that own the timeline and the runs.


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command group."""
    app.add_typer(demo_app, name="demo")
