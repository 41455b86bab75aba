"""Run items with bounded concurrency, a per-item timeout and a live progress bar; store each at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from mimir.evals.items import EXCLUDED, EvalItem, ItemRecord, ItemStatus, RunnerOutput
from mimir.evals.run_store import RunStore
from mimir.evals.runners.base import InfraError, Runner
from mimir.evals.scoring import score_item
from mimir.evals.staging import staged_input

log = logging.getLogger(__name__)


def make_record(item: EvalItem, runner: str, status: ItemStatus, out: RunnerOutput | None = None,
                error: str | None = None, latency_s: float = 0.0) -> ItemRecord:
    """The stored record of one item (scored when the runner answered)."""
    score, opened = score_item(item, out) if out is not None else (None, {})
    out = out or RunnerOutput()
    return ItemRecord(
        key=item.key, file=item.file, index=item.index, subset=item.subset, ability=item.ability,
        source=item.source, closed=item.closed, n_options=len(item.options), gold_letter=item.gold_letter,
        gold_text=item.gold_text, status=status, runner=runner, text=out.text, letter=out.letter,
        score=score, open_scores=opened, abstain_reason=out.abstain_reason, error=error,
        evidence=out.evidence, steps=out.steps, timings=out.timings, latency_s=latency_s,
    )


def process_item(runner: Runner, item: EvalItem) -> ItemRecord:
    """Run one item: missing images, infrastructure faults and the runner's own faults become statuses.

    A runner that raises anything but an infrastructure error has failed on this item: the item is
    stored as ``tool_failed`` (counted as wrong) with the exception, and the run goes on.
    """
    if runner.needs_images and item.missing_images:
        return make_record(item, runner.name, "missing_image", error=f"missing: {', '.join(item.missing_images)}")
    t0 = time.perf_counter()
    try:
        with staged_input(item, with_images=runner.needs_images) as inp:
            out = runner.run(inp)
    except (InfraError, TimeoutError, ConnectionError) as e:
        return make_record(item, runner.name, "infra_error", error=str(e), latency_s=time.perf_counter() - t0)
    except Exception as e:  # a fault of the system under test: counted as wrong, stored with its cause
        log.exception("item %s failed", item.key)
        cause = f"{type(e).__name__}: {e}"
        return make_record(item, runner.name, "tool_failed", RunnerOutput(status="tool_failed", abstain_reason=cause),
                           error=cause, latency_s=time.perf_counter() - t0)
    return make_record(item, runner.name, out.status, out, latency_s=time.perf_counter() - t0)


def pending(items: Iterable[EvalItem], done: dict[str, ItemRecord]) -> list[EvalItem]:
    """Items still to run: not stored yet, or stored with an infrastructure error (retried)."""
    return [it for it in items if it.key not in done or done[it.key].status == "infra_error"]


class Tracker:
    """Running counts for the progress bar: finished, scored closed items, their score sum."""

    def __init__(self, total: int, already: Iterable[ItemRecord]) -> None:
        self.total = total
        self.finished = 0
        self.scored = 0
        self.score_sum = 0.0
        for r in already:
            self.add(r)

    def add(self, r: ItemRecord) -> None:
        """Count one finished item."""
        self.finished += 1
        if r.closed and r.status not in EXCLUDED and r.score is not None:
            self.scored += 1
            self.score_sum += r.score

    def label(self) -> str:
        """'acc 0.512 (n=80)'."""
        return f"acc {self.score_sum / self.scored:.3f} (n={self.scored})" if self.scored else "acc -"


def progress_bar(enabled: bool, total: int, completed: int) -> tuple[AbstractContextManager[Any], Callable[[str], None]]:
    """A rich progress bar (stderr) with ETA; returns (context, advance(label))."""
    if not enabled:
        return nullcontext(), lambda _label: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mimir.output import err_console

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("ETA"), TimeRemainingColumn(), console=err_console)
    task = bar.add_task("eval", total=total, completed=completed)
    return bar, lambda label: bar.update(task, advance=1, description=f"eval {label}")


def run_local(items: list[EvalItem], runner: Runner, store: RunStore, concurrency: int = 4,
              timeout_s: float | None = None, show_progress: bool = True) -> dict[str, ItemRecord]:
    """Run the pending items with at most ``concurrency`` in flight; return all stored records."""
    todo = pending(items, store.done)
    keys = {it.key for it in items}
    tracker = Tracker(len(items), [r for k, r in store.done.items() if k in keys and r.status != "infra_error"])
    ctx, advance = progress_bar(show_progress, len(items), tracker.finished)
    started: dict[str, float] = {}

    def call(item: EvalItem) -> ItemRecord:
        started[item.key] = time.monotonic()
        return process_item(runner, item)

    def finish(rec: ItemRecord) -> None:
        store.append(rec)
        tracker.add(rec)
        advance(tracker.label())

    queue = list(reversed(todo))
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="mimir-eval")
    try:
        _drive(queue, pool, call, finish, concurrency, started, timeout_s, runner.name, ctx)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a timed-out call is not waited for
    return {k: r for k, r in store.done.items() if k in keys}


def _drive(queue: list[EvalItem], pool: ThreadPoolExecutor, call: Callable[[EvalItem], ItemRecord],
           finish: Callable[[ItemRecord], None], concurrency: int, started: dict[str, float],
           timeout_s: float | None, runner_name: str, ctx: AbstractContextManager[Any]) -> None:
    """Keep ``concurrency`` items in flight until the queue is empty; record overdue ones as timeouts."""
    concurrency = max(1, concurrency)
    with ctx:
        flight: dict[Future[ItemRecord], EvalItem] = {}
        while queue or flight:
            finished: list[ItemRecord] = []
            done, _ = wait(flight, timeout=0.5, return_when=FIRST_COMPLETED) if flight else (set(), set())
            for fut in done:
                flight.pop(fut)
                finished.append(fut.result())
            for fut, item in list(_overdue(flight, started, timeout_s)):
                flight.pop(fut)
                msg = f"timed out after {timeout_s:.0f}s"
                finished.append(make_record(item, runner_name, "infra_error", error=msg, latency_s=timeout_s or 0.0))
            while queue and len(flight) < concurrency:  # refill first: storing must not idle the runner
                item = queue.pop()
                flight[pool.submit(call, item)] = item
            for rec in finished:
                finish(rec)


def _overdue(flight: dict[Future[ItemRecord], EvalItem], started: dict[str, float],
             timeout_s: float | None) -> Iterable[tuple[Future[ItemRecord], EvalItem]]:
    """In-flight items running longer than the timeout (their threads finish unobserved)."""
    if not timeout_s:
        return []
    now = time.monotonic()
    return [(f, it) for f, it in flight.items()
            if not f.done() and it.key in started and now - started[it.key] > timeout_s]
