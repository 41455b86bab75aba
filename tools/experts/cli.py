"""CLI: ``mimir experts list|train|evaluate`` for mimir's own MONAI experts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mimir.tools.experts.evaluate import EvaluationReport
    from mimir.tools.experts.evaluate_resection import ResectionReport
    from mimir.tools.experts.evaluate_volumes import VolumeReport

experts_app = typer.Typer(help="mimir's own MONAI experts: list, train from scratch, evaluate; fingerprint any bundle.",
                          no_args_is_help=True)


@experts_app.command("list")
def list_experts(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """List the shipped experts with their task, modality and labels."""
    from mimir.output import emit
    from mimir.tools.experts.bundle import read_metadata
    from mimir.tools.experts.train import PLANS, bundle_dir

    rows = [{"name": n, "version": (m := read_metadata(bundle_dir(n)))["version"], **dict(cast("Mapping[str, object]", m["mimir"]))} for n in PLANS]
    emit(rows, as_json=as_json, human="\n".join(f"{r['name']}  {r['task']}  {r['modality']}  {r['labels']}" for r in rows))


@experts_app.command("train")
def train(
    name: str = typer.Argument(..., help="Expert name, e.g. brain_mri_lesion_seg"),
    seed: int = typer.Option(0, "--seed", help="Seed for the generated training data and torch"),
    out: Path | None = typer.Option(None, "--out", help="Bundle folder to write (default: the shipped one)"),
    threads: int = typer.Option(2, "--threads", help="torch CPU threads"),
    init: Path | None = typer.Option(None, "--init", help="Bundle folder whose weights to continue from (fine-tuning plan)"),
    device: str = typer.Option("cpu", "--device", help="Where the network trains: cpu, cuda or cuda:N (data is drawn on the CPU)"),
    cache: Path | None = typer.Option(None, "--cache", help="An .npz file keeping the drawn training data (read back when it exists)"),
    data_only: bool = typer.Option(False, "--data-only", help="Only draw the training data into --cache, do not train"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Train an expert on freshly generated demo data (from scratch, or from --init) and write models/model.pt."""
    from mimir.output import emit, fail
    from mimir.tools.experts.train import FINETUNE_PLANS, PLANS, train_expert, training_tensors

    if name not in PLANS:
        fail(f"Unknown expert {name!r}; known: {', '.join(PLANS)}")
    if init is not None and name not in FINETUNE_PLANS:
        fail(f"No fine-tuning plan for {name!r}; known: {', '.join(FINETUNE_PLANS)}")
    if data_only:
        if cache is None:
            fail("--data-only needs --cache FILE.npz to write the data to")
            return
        plan = FINETUNE_PLANS[name] if init is not None else PLANS[name]
        x, _ = training_tensors(name, seed, plan, cache)
        emit({"cache": str(cache), "samples": len(x)}, as_json=as_json, human=f"{name}: {len(x)} samples in {cache}")
        return
    record = train_expert(name, seed, out, threads, init, device, cache)
    emit(record, as_json=as_json, human=f"{name}: trained in {record['duration_s']} s, final loss {record['final_loss']}")


@experts_app.command("evaluate")
def evaluate(
    name: str = typer.Argument(..., help="Expert name, e.g. brain_mri_lesion_seg"),
    seed: int = typer.Option(..., "--seed", help="Seed for fresh samples; must not be a training seed"),
    n: int = typer.Option(100, "--n", help="Number of images to evaluate"),
    bundle: Path | None = typer.Option(None, "--bundle", help="Bundle folder (default: the shipped one)"),
    volumes: bool = typer.Option(False, "--volumes", help="Whole generated volumes, slice by slice (segmenters)"),
    lesion_free: bool = typer.Option(False, "--lesion-free", help="With --volumes: every volume lesion-free"),
    resection: bool = typer.Option(False, "--resection",
                                   help="Post-operative T1C key slices: residual rims missed, gross-total read partial"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Run the bundle on fresh generated 256x256 PNGs (or whole volumes) and report Dice or accuracy."""
    from mimir.output import emit, fail
    from mimir.tools.experts.evaluate import evaluate_expert
    from mimir.tools.experts.evaluate_resection import evaluate_resection
    from mimir.tools.experts.evaluate_volumes import evaluate_volumes
    from mimir.tools.experts.train import PLANS

    if name not in PLANS:
        fail(f"Unknown expert {name!r}; known: {', '.join(PLANS)}")
    try:
        report: EvaluationReport | VolumeReport | ResectionReport
        if resection:
            report = evaluate_resection(name, seed, n, bundle)
        elif volumes:
            report = evaluate_volumes(name, seed, n, bundle, lesion_free)
        else:
            report = evaluate_expert(name, seed, n, bundle)
    except ValueError as exc:
        fail(str(exc))
        return
    human = f"{name} (seed {seed}, n={report.n}): " + ", ".join(f"{k}={v:.4f}" for k, v in report.metrics.items())
    emit(report, as_json=as_json, human=human)


def _add_fingerprint() -> None:
    from mimir.tools.ood.cli import fingerprint_command

    experts_app.command("fingerprint")(fingerprint_command)


_add_fingerprint()


def register(app: typer.Typer) -> None:
    """Add the ``experts`` command group to mimir's CLI."""
    app.add_typer(experts_app, name="experts")
