"""``mimir demo quickstart``: mimir's main job end to end on the embedded defaults.

Builds demo patients with known ground truth, loads them into the local timeline (so ``mimir serve``
shows them), answers their Med-MIM-style questions with the rules planner and mimir's own experts,
builds the retrieval index over the timeline (so "have we seen similar cases?" can be asked), and
prints the accuracy per ability and one answer with its evidence.
"""

from __future__ import annotations

from typing import Any

import typer

from mimir.extras import require_extra
from mimir.settings import Settings


def run_quickstart(settings: Settings, patients: int, seed: int, concurrency: int) -> dict[str, Any]:
    """Build, load, answer, score. Returns the summary and one example record."""
    from mimir.demo.build import build_demo
    from mimir.evals.run import EvalOptions, run_eval, summary_json
    from mimir.evals.runners import RunnerConfig
    from mimir.memory.db import open_database
    from mimir.memory.ingest.demo import load_demo

    require_extra("totalseg", "mimir demo quickstart (its head-CT patients)")
    settings.ensure_dirs()
    demo_dir = settings.data_dir / "demo" / f"seed-{seed}"
    if not (demo_dir / "suite.json").exists():
        build_demo(demo_dir, patients, seed, 2)
    db = open_database(settings)
    try:
        load_report = load_demo(db, demo_dir, settings)
    finally:
        db.dispose()
    run_dir = settings.data_dir / "runs" / f"quickstart-seed-{seed}"
    opts = EvalOptions(suite="demo", seed=seed, patients=patients, runner=RunnerConfig(name="agent"),
                       out=run_dir, resume=run_dir.exists(), concurrency=concurrency)
    summary, records = run_eval(opts, settings)
    example = next((r for r in records.values() if r.status == "ok" and r.score == 1.0 and r.steps), None)
    return {"timeline": load_report.counts, "summary": summary_json(summary, run_dir),
            "example": example.model_dump(mode="json") if example else None, "index": build_index(settings)}


def build_index(settings: Settings) -> dict[str, Any]:
    """Build the retrieval index over the timeline; images it cannot embed are counted with the reason."""
    from mimir.memory.db import open_database
    from mimir.tools.retrieval.index_access import make_index

    db = open_database(settings)
    try:
        with db.session() as session:
            index = make_index(settings)
            try:
                status = index.build(session)
            finally:
                index.close()
    finally:
        db.dispose()
    return {"studies": status.entries, "vectors": {s: i.vectors for s, i in status.spaces.items()},
            "skipped": status.skipped, "path": status.path}


def _human(result: dict[str, Any]) -> str:
    s = result["summary"]
    lines = [f"timeline: {result['timeline']}", "", "accuracy on closed questions (95% interval), by ability:"]
    for name, g in s["abilities"].items():
        acc = "n/a" if g["accuracy"] is None else f"{g['accuracy']:.3f} [{g['interval'][0]:.2f}, {g['interval'][1]:.2f}]"
        lines.append(f"  {name:12s} n={g['n_closed']:3d}  {acc}  {g['counts']}")
    ex = result["example"]
    if ex:
        lines += ["", f"example ({ex['key']}): answered {ex['letter']} (gold {ex['gold_letter']}): {ex['text']}"]
        lines += [f"  tool {st['tool']} on images {st.get('image_indices')}: {st.get('summary', '')}" for st in ex["steps"]]
        lines += [f"  evidence: {e['statement']}" for e in ex["evidence"]]
    idx = result["index"]
    lines += ["", f"retrieval index: {idx['studies']} studies, vectors {idx['vectors']} in {idx['path']}"]
    lines += [f"  left out {n} image(s): {why}" for why, n in idx["skipped"].items()]
    lines += ["", f"run folder: {s['run_dir']}  (mimir eval report {s['run_dir']})",
              "review the patients: mimir serve  ->  http://127.0.0.1:7860",
              'ask about a patient: mimir ask --patient <id> "Has the tumour grown since the prior study?"']
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add ``demo quickstart`` to the demo group."""
    from mimir.demo.cli import demo_app

    @demo_app.command("quickstart")
    def quickstart(
        patients: int = typer.Option(5, "--patients", min=1, help="Demo patients to build"),
        seed: int = typer.Option(2026, "--seed", help="Demo seed (not one the experts were trained on)"),
        concurrency: int = typer.Option(2, "--concurrency", min=1),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    ) -> None:
        """Build demo patients, load them, answer their questions, print accuracy per ability."""
        from mimir.output import emit

        result = run_quickstart(Settings(), patients, seed, concurrency)
        emit(result, as_json=as_json, human=_human(result))


__all__ = ["register", "run_quickstart"]
