"""Scale-out: shards of items run as Ray tasks; the driver stores results as shards come back.

Every worker builds its own runner from the plain :class:`RunnerConfig` and settings, so images
must be reachable at the same paths on every node (a shared file system or object store mount).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mimir.evals.execute import Tracker, pending, process_item, progress_bar
from mimir.evals.items import EvalItem, ItemRecord
from mimir.evals.runners.base import RunnerConfig

if TYPE_CHECKING:
    from mimir.evals.run_store import RunStore
    from mimir.settings import Settings

log = logging.getLogger(__name__)


def run_shard(settings_data: dict[str, Any], config_data: dict[str, Any],
              items_data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Worker side: build the runner once, answer the shard's items in order."""
    from mimir.evals.runners import make_runner
    from mimir.settings import Settings

    runner = make_runner(Settings(**settings_data), RunnerConfig(**config_data))
    return [process_item(runner, EvalItem(**d)).model_dump(mode="json") for d in items_data]


def shards(items: list[EvalItem], size: int) -> list[list[EvalItem]]:
    """Consecutive shards of at most ``size`` items."""
    size = max(1, size)
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_ray(items: list[EvalItem], settings: Settings, config: RunnerConfig, store: RunStore,
            address: str | None = None, shard_size: int = 8, show_progress: bool = True) -> dict[str, ItemRecord]:
    """Run the pending items on a Ray cluster (``address``; None starts or joins a local one)."""
    from mimir.extras import import_extra

    ray = import_extra("ray", "ray", "mimir eval --engine ray")

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(run_shard)
    settings_data = settings.model_dump(mode="json")
    todo = pending(items, store.done)
    keys = {it.key for it in items}
    tracker = Tracker(len(items), [r for k, r in store.done.items() if k in keys and r.status != "infra_error"])
    refs = [remote.remote(settings_data, config.model_dump(), [it.model_dump(mode="json") for it in shard])
            for shard in shards(todo, shard_size)]
    ctx, advance = progress_bar(show_progress, len(items), tracker.finished)
    with ctx:
        while refs:
            ready, refs = ray.wait(refs, num_returns=1)
            for data in ray.get(ready[0]):
                rec = ItemRecord(**data)
                store.append(rec)
                tracker.add(rec)
                advance(tracker.label())
    log.info("Ray run stored %d items", len(todo))
    return {k: r for k, r in store.done.items() if k in keys}
