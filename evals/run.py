"""One evaluation from options to summary: load the suite, check images, run, score."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from mimir import __version__
from mimir.demo.truth import Kind
from mimir.evals.items import EvalItem, ItemRecord
from mimir.evals.loader import load_file, load_medmim, missing_report
from mimir.evals.run_store import RunStore
from mimir.evals.runners import RunnerConfig, check_runner_name, make_runner, needs_images
from mimir.evals.scoring import RunSummary, summarize
from mimir.settings import Settings

log = logging.getLogger(__name__)


class EvalOptions(BaseModel):
    """Everything ``mimir eval`` accepts."""

    suite: Literal["medmim", "demo", "paraphrase", "items"] = "medmim"
    split: Literal["dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout7", "heldout8",
                   "heldout9", "heldout10", "heldout11", "heldout12", "heldout13", "heldout14", "heldout15", "heldout16", "heldout17", "heldout18", "heldout19"] = "dev"
    medmim_dir: Path | None = None
    image_root: Path | None = None
    items: list[Path] = Field(default_factory=list)
    seed: int = 0
    patients: int | None = Field(None, description="Demo patients (default 4 for demo, 20 for paraphrase)")
    kinds: tuple[Kind, ...] | None = Field(None, description="Demo suite: only these kinds of patient (default: all)")
    runner: RunnerConfig
    concurrency: int = 4
    timeout_s: float | None = None
    out: Path
    resume: bool = False
    engine: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    allow_missing: bool = False
    subsets: list[str] = Field(default_factory=list)
    limit: int | None = None
    progress: bool = True
    judge_base_url: str | None = None
    judge_model: str | None = None
    judge_api_key: str = "EMPTY"


class MissingImagesError(RuntimeError):
    """Items whose images are not under the image root, for a runner that needs images."""

    def __init__(self, missing: dict[str, list[str]], total: int, root: Path | None) -> None:
        files = sum(len(v) for v in missing.values())
        first = next(iter(missing.items()))
        super().__init__(
            f"{len(missing)} of {total} items have missing images ({files} image files not found under "
            f"{root or 'the benchmark folder'}; first: {first[0]} -> {first[1][0]}). Pass --image-root "
            "with the benchmark's images, or --allow-missing to record those items as missing_image."
        )
        self.missing = missing


def load_suite(opts: EvalOptions, settings: Settings) -> list[EvalItem]:
    """The items of the chosen suite, filtered by subset and limit."""
    if opts.suite == "medmim":
        if opts.medmim_dir is None:
            raise ValueError("--suite medmim needs --medmim-dir (the folder with the six benchmark files)")
        items = load_medmim(opts.medmim_dir, opts.image_root)
    elif opts.suite == "demo":
        from mimir.evals.demo_suite import demo_items

        needs_timeline = needs_images(opts.runner.name) is not False  # baselines see no images: skip ingest
        items = demo_items(opts.seed, opts.patients or 4, opts.out, settings, load_timeline=needs_timeline,
                           kinds=opts.kinds)
    elif opts.suite == "paraphrase":
        from mimir.evals.paraphrase import paraphrase_items

        items = paraphrase_items(opts.seed, opts.patients or 20, opts.out, settings, opts.split)
    else:
        items = [it for f in opts.items for it in load_file(f, opts.image_root)]
    if opts.subsets:
        items = [it for it in items if it.subset in opts.subsets]
    return items[: opts.limit] if opts.limit else items


def run_settings(settings: Settings, opts: EvalOptions) -> Settings:
    """Settings for the run: its own timeline and threads under the run folder."""
    return settings.model_copy(update={"data_dir": (opts.out / "data").resolve()}).ensure_dirs()


def manifest(opts: EvalOptions, settings: Settings, n_items: int) -> dict[str, Any]:
    """The ``run.json`` content (secrets left out)."""
    return {
        "suite": opts.suite, "medmim_dir": str(opts.medmim_dir or ""), "image_root": str(opts.image_root or ""),
        "items_files": [str(p) for p in opts.items], "seed": opts.seed, "patients": opts.patients,
        "kinds": list(opts.kinds) if opts.kinds else None,
        "split": opts.split if opts.suite == "paraphrase" else None,
        "runner": opts.runner.name, "runner_config": opts.runner.model_dump(exclude={"llm_api_key"}),
        "settings": {"planner": settings.planner, "planner_model": settings.planner_model,
                     "vlm": [v.profile for v in settings.vlm], "device": settings.device},
        "engine": opts.engine, "concurrency": opts.concurrency, "item_count": n_items,
        "mimir_version": __version__,
    }


def check_images(items: list[EvalItem], opts: EvalOptions) -> None:
    """Refuse to run items with missing images unless ``--allow-missing``."""
    missing = missing_report(items)
    if missing and not opts.allow_missing:
        raise MissingImagesError(missing, len(items), opts.image_root)


def run_eval(opts: EvalOptions, settings: Settings) -> tuple[RunSummary, dict[str, ItemRecord]]:
    """Run (or resume) an evaluation; returns its summary and records."""
    check_runner_name(opts.runner.name)  # a misspelt runner is refused before the suite is read
    rsettings = run_settings(settings, opts)
    items = load_suite(opts, rsettings)
    images_needed = needs_images(opts.runner.name)
    if images_needed:
        check_images(items, opts)  # before building the runner: a clear refusal comes first
    runner = make_runner(rsettings, opts.runner)  # refuses early when misconfigured
    judge = None
    if opts.judge_base_url or opts.judge_model:
        from mimir.evals.judge import Judge

        judge = Judge(opts.judge_base_url, opts.judge_model, opts.judge_api_key)
    if images_needed is None and runner.needs_images:
        check_images(items, opts)
    with RunStore(opts.out, manifest(opts, rsettings, len(items)), resume=opts.resume) as store:
        opts.runner.run_id = opts.runner.run_id or store.manifest["started"]
        if opts.engine == "ray":
            from mimir.evals.ray_engine import run_ray

            records = run_ray(items, rsettings, opts.runner, store, opts.ray_address, show_progress=opts.progress)
        else:
            from mimir.evals.execute import run_local

            records = run_local(items, runner, store, opts.concurrency, opts.timeout_s, opts.progress)
        if judge is not None:
            from mimir.evals.judge import judge_open

            for rec in judge_open(judge, items, records):
                store.append(rec)
                records[rec.key] = rec
    ordered = [records[it.key] for it in items if it.key in records]
    return summarize(ordered, opts.runner.name), records


def summary_json(summary: RunSummary, run_dir: Path) -> dict[str, Any]:
    """The machine-readable summary ``--json`` prints."""

    def group(g: Any) -> dict[str, Any]:
        return {"n": g.n, "n_closed": g.n_closed, "n_scored": g.n_scored, "accuracy": g.accuracy,
                "interval": [g.ci_low, g.ci_high], "counts": g.counts, "open": g.open}

    return {
        "run_dir": str(run_dir), "runner": summary.runner, "overall": group(summary.overall),
        "subsets": {k: group(v) for k, v in summary.subsets.items()},
        "abilities": {k: group(v) for k, v in summary.abilities.items()},
        "sources": {k: group(v) for k, v in summary.sources.items()},
    }
