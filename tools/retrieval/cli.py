"""``mimir index build|status``: (re)build the retrieval index, or say whether it can be trusted."""

from __future__ import annotations

import time

import typer

from mimir.output import emit
from mimir.settings import Settings

index_app = typer.Typer(help="The retrieval index over the timeline (FAISS).", no_args_is_help=True)


def _human(status: dict, elapsed: float | None = None) -> str:
    lines = [f"index {status['path']}: {status['state']}"
             + (f" ({status['reason']})" if status.get("reason") else "")]
    lines.append(f"  studies: {status['entries']}")
    for space, info in status["spaces"].items():
        lines.append(f"  {space}: {info['vectors']} vectors, {info['embedder']}@{info['version']}, "
                     f"{info['dim']}-d, {info['kind']}")
    for reason, count in (status.get("skipped") or {}).items():
        lines.append(f"  skipped {count} image(s): {reason}")
    if elapsed is not None:
        lines.append(f"  took {elapsed:.1f} s")
    return "\n".join(lines)


@index_app.command("build")
def build(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Embed every study of the timeline and write the index from scratch."""
    from mimir.memory.db import open_database
    from mimir.tools.retrieval.index_access import make_index

    settings = Settings().ensure_dirs()
    db = open_database(settings)
    t0 = time.perf_counter()
    with db.session() as session:
        index = make_index(settings)
        status = index.build(session).model_dump(mode="json")
        index.close()
    elapsed = time.perf_counter() - t0
    emit({**status, "seconds": round(elapsed, 2)}, as_json=as_json, human=_human(status, elapsed))


@index_app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Entries, embedders, fingerprint, and whether the index is stale (and why); changes nothing."""
    from mimir.memory.db import open_database
    from mimir.tools.retrieval.index_access import make_index

    settings = Settings().ensure_dirs()
    db = open_database(settings)
    with db.session() as session:
        index = make_index(settings)
        result = index.inspect(session)
        index.close()
    data = {**result.model_dump(mode="json"), "stale": result.stale}
    emit(data, as_json=as_json, human=_human(data))


def register(app: typer.Typer) -> None:
    """Add the ``index`` command group to ``app``."""
    app.add_typer(index_app, name="index")
