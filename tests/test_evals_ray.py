"""The Ray engine on a local instance: shards run as tasks, the driver stores every result once."""

from __future__ import annotations

import pytest
from fixtures.paths import MEDMIM_DIR

from mimir.evals.execute import run_local
from mimir.evals.loader import load_file
from mimir.evals.run_store import RunStore, read_records
from mimir.evals.runners import RunnerConfig, make_runner
from mimir.evals.scoring import summarize

MEDMIM = MEDMIM_DIR
pytestmark = pytest.mark.skipif(not (MEDMIM / "README.md").is_file(), reason="Med-MIM files not present")


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_run_matches_local_run(local_ray, tmp_path, settings):
    from mimir.evals.ray_engine import run_ray

    items = [it for it in load_file(MEDMIM / "Med_MIM_benchmark_Held_out_ODIR.json") if it.closed][:24]
    config = RunnerConfig(name="blind-first")
    with RunStore(tmp_path / "ray", {"runner": "blind-first"}) as store:
        # Half the items are already done: a resumed run sends only the rest to the cluster.
        run_local(items[:12], make_runner(settings, config), store, show_progress=False)
        ray_recs = run_ray(items, settings, config, store, shard_size=5, show_progress=False)
    with RunStore(tmp_path / "local", {"runner": "blind-first"}) as store:
        local_recs = run_local(items, make_runner(settings, config), store, show_progress=False)
    assert set(ray_recs) == {it.key for it in items}
    assert len(read_records(tmp_path / "ray")) == 24
    assert (tmp_path / "ray" / "items.jsonl").read_text().count("\n") == 24
    assert summarize(list(ray_recs.values())).overall == summarize(list(local_recs.values())).overall
    assert all(r.letter == "A" for r in ray_recs.values())
