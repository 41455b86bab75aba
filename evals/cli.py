"""``mimir eval``: run an evaluation (``mimir eval --suite ...`` or ``mimir eval run``), ``report``, ``diff``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from mimir.evals.runners import runner_choices
from mimir.output import emit, fail

MEMORY_HELP = "fresh: a new conversation thread per item (default); patient: one thread per patient"


def _run(
    ctx: typer.Context,
    suite: Literal["medmim", "demo", "paraphrase"] | None = typer.Option(None, "--suite", help="Or use --items"),
    split: Literal["dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout7", "heldout8",
                   "heldout9", "heldout10", "heldout11", "heldout12", "heldout13", "heldout14", "heldout15", "heldout16", "heldout17", "heldout18", "heldout19"] = typer.Option("dev", "--split", help="Paraphrase suite split"),
    medmim_dir: Path = typer.Option(None, "--medmim-dir", help="Folder with the six Med-MIM benchmark files"),
    image_root: Path = typer.Option(None, "--image-root", help="Folder the items' image paths are relative to"),
    items: list[Path] = typer.Option(None, "--items", help="Med-MIM-format JSON file(s) to evaluate"),
    seed: int = typer.Option(0, "--seed", help="Demo suite seed"),
    patients: int = typer.Option(None, "--patients", help="Demo patients (default: 4 for demo, 20 for paraphrase)"),
    kinds: str = typer.Option(None, "--kinds", help="Demo suite: only these kinds of patient (comma-separated: "
                                                     "mri, ct, fundus, cxr, mg; default: all)"),
    runner: str = typer.Option("agent", "--runner", help=runner_choices()),
    memory: Literal["fresh", "patient"] = typer.Option("fresh", "--memory", help=MEMORY_HELP),
    vlm_profile: str = typer.Option(None, "--vlm-profile", help="VLM profile for direct/decomposed"),
    llm_base_url: str = typer.Option(None, "--llm-base-url", help="OpenAI-compatible endpoint for blind-text"),
    llm_model: str = typer.Option(None, "--llm-model", help="Model name for blind-text"),
    concurrency: int = typer.Option(4, "--concurrency", "-c", help="Items in flight"),
    timeout: float = typer.Option(None, "--timeout", help="Per-item timeout in seconds (infra_error when exceeded)"),
    out: Path = typer.Option(None, "--out", help="Run folder (default: runs/<suite>-<runner>)"),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out"),
    engine: Literal["local", "ray"] = typer.Option("local", "--engine"),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster address (default: local instance)"),
    allow_missing: bool = typer.Option(False, "--allow-missing", help="Record items with missing images as missing_image"),
    subset: list[str] = typer.Option(None, "--subset", help="Only these subsets"),
    limit: int = typer.Option(None, "--limit", help="Only the first N items"),
    judge_base_url: str = typer.Option(None, "--judge-base-url", help="OpenAI-compatible endpoint of an LLM judge for open answers"),
    judge_model: str = typer.Option(None, "--judge-model", help="LLM judge model"),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary"),
) -> None:
    """Run a batch evaluation and print its summary."""
    if ctx.invoked_subcommand is not None:
        return
    if not suite and not items:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    from mimir.demo.cli import kinds_here, parse_kinds
    from mimir.evals.run import EvalOptions, MissingImagesError, run_eval, summary_json
    from mimir.evals.run_store import RunStoreError
    from mimir.evals.runners import RunnerConfig, RunnerConfigError
    from mimir.settings import Settings

    settings = Settings()
    kind: Literal["medmim", "demo", "paraphrase", "items"] = suite or "items"
    try:
        config = RunnerConfig(name=runner, memory=memory, vlm_profile=vlm_profile,
                              llm_base_url=llm_base_url or settings.planner_base_url,
                              llm_model=llm_model or settings.planner_model, llm_api_key=settings.planner_api_key)
        opts = EvalOptions(
            suite=kind, split=split, medmim_dir=medmim_dir, image_root=image_root, items=items or [], seed=seed,
            patients=patients, kinds=kinds_here(parse_kinds(kinds)),
            runner=config, concurrency=concurrency, timeout_s=timeout,
            out=out or Path("runs") / f"{kind}{'-' + split if kind == 'paraphrase' else ''}-{runner.replace(':', '_')}",
            resume=resume, engine=engine,
            ray_address=ray_address, allow_missing=allow_missing, subsets=subset or [], limit=limit,
            judge_base_url=judge_base_url, judge_model=judge_model,
        )
        summary, _ = run_eval(opts, settings)
    except (RunnerConfigError, MissingImagesError, RunStoreError, ValueError) as e:
        fail(str(e))
        return
    from mimir.evals.report import summary_table

    emit(summary_json(summary, opts.out), as_json=as_json, human=summary_table(summary, opts.out))


def _report(
    run_dirs: list[Path] = typer.Argument(..., help="Run folders to report side by side"),
    out: Path = typer.Option(None, "--out", help="Report folder (default: <first run>/report)"),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON"),
) -> None:
    """Write Markdown and CSV tables and PNG plots for one or more runs."""
    from mimir.evals.report import write_report
    from mimir.evals.run_store import RunStoreError

    try:
        files = write_report(run_dirs, out or run_dirs[0] / "report")
    except RunStoreError as e:
        fail(str(e))
        return
    emit({"files": [str(f) for f in files]}, as_json=as_json,
         human="\n".join(f"wrote {f}" for f in files))


def _diff(
    run_a: Path = typer.Argument(..., help="Baseline run folder"),
    run_b: Path = typer.Argument(..., help="Run folder to compare"),
    as_json: bool = typer.Option(False, "--json", help="Print the changed items as JSON"),
) -> None:
    """List the items whose correctness changed between two runs."""
    from mimir.evals.report import diff_runs, diff_table
    from mimir.evals.run_store import RunStoreError

    try:
        changes = diff_runs(run_a, run_b)
    except RunStoreError as e:
        fail(str(e))
        return
    emit(changes, as_json=as_json, human=diff_table(changes))


def register(app: typer.Typer) -> None:
    """Add ``mimir eval`` (with ``run``, ``report`` and ``diff``) to the CLI."""
    group = typer.Typer(help="Batch evaluation on Med-MIM, the demo suite or your own items.",
                        invoke_without_command=True, no_args_is_help=False)
    group.callback(invoke_without_command=True)(_run)
    group.command("run")(_run)
    group.command("report")(_report)
    group.command("diff")(_diff)
    app.add_typer(group, name="eval")
