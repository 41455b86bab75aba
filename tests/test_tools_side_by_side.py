"""A batch's pass on the CPU as passes over its parts side by side, each thread on its share of torch's threads."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from mimir.tools.bundles.engine import ExpertEngine
from mimir.tools.bundles.side_by_side import SideBySide
from mimir.tools.bundles.workflow import read_bundle
from mimir.tools.experts.evaluate import write_png
from mimir.tools.experts.train import bundle_dir

openmp = pytest.mark.skipif("parallel backend: OpenMP" not in torch.__config__.parallel_info(),
                            reason="torch runs another threading backend here: batches run as one pass")


@pytest.fixture(scope="module")
def brain_slices(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Twelve fresh generated brain slices, eight of them with a lesion (anatomy pool 1)."""
    from mimir.demo.synth import mri_slice_sample

    d, rng = tmp_path_factory.mktemp("side-by-side"), np.random.default_rng(20261202)
    paths, lesions = [], 0
    while len(paths) < 12:
        images, label = mri_slice_sample(rng, size=256, pool=1)
        if label.any() or len(paths) - lesions < 4:
            lesions += int(label.any())
            paths.append(write_png(images["T1C"], d / f"s{len(paths):02d}.png"))
    return paths


def _threads_seen(passes: SideBySide) -> list[int]:
    """torch's thread count inside each pass thread, from a batch of four one-row 'passes'."""
    seen: list[int] = []
    lock = threading.Lock()

    def forward(part: torch.Tensor) -> torch.Tensor:
        with lock:
            seen.append(torch.get_num_threads())
        return part * 2

    out = passes.run(forward, torch.arange(8.0).reshape(4, 2))
    assert torch.equal(out, torch.arange(8.0).reshape(4, 2) * 2)  # the parts' results, in batch order
    return seen


@openmp
def test_each_pass_thread_runs_on_its_share_and_no_other_thread_changes() -> None:
    before = torch.get_num_threads()
    passes = SideBySide(threads=4, parts=2)
    assert passes.active and passes.share == 2
    assert _threads_seen(passes) == [2, 2]
    assert torch.get_num_threads() == before  # the calling thread keeps its own
    fresh: list[int] = []
    t = threading.Thread(target=lambda: fresh.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert fresh == [before]  # and a thread started later gets torch's setting, not a pass thread's share


def test_small_batches_and_single_threads_run_as_one_pass() -> None:
    calls: list[int] = []

    def forward(batch: torch.Tensor) -> torch.Tensor:
        calls.append(len(batch))
        return batch

    SideBySide(threads=2).run(forward, torch.zeros(3, 1))  # fewer than two images a part
    SideBySide(threads=1).run(forward, torch.zeros(16, 1))  # nothing to share
    assert calls == [3, 16]
    assert not SideBySide(threads=1).active


def test_a_share_that_does_not_hold_turns_the_split_off_and_runs_the_whole_batch(caplog: pytest.LogCaptureFixture) -> None:
    passes = SideBySide(threads=2 * (torch.get_num_threads() + 1))  # a share unlike torch's own count
    passes._set_threads = lambda n: None  # an OpenMP call that changes nothing: the check in the thread fails
    calls: list[int] = []

    def forward(batch: torch.Tensor) -> torch.Tensor:
        calls.append(len(batch))
        return batch + 1

    with caplog.at_level(logging.WARNING):
        out = passes.run(forward, torch.zeros(8, 1))
    assert torch.equal(out, torch.ones(8, 1)) and calls == [4, 4]  # the parts, run on the calling thread
    assert not passes.active and "side by side are off" in caplog.text
    assert passes.split(8) == [range(8)]
    passes.run(forward, torch.zeros(8, 1))
    assert calls == [4, 4, 8]


@openmp
def test_the_engine_gives_the_same_masks_split_or_whole(brain_slices: list[Path]) -> None:
    engine = ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")))
    engine.passes = SideBySide(threads=2)
    split = engine.predict(brain_slices, batch_size=12)
    engine.passes = SideBySide(threads=1)
    whole = engine.predict(brain_slices, batch_size=12)
    batch = engine.preprocess(brain_slices)
    parts = SideBySide(threads=2).run(engine.forward, batch)
    assert float((parts - engine.forward(batch)).abs().max()) < 1e-4  # float32 rounding of two batch sizes
    lesions = 0
    for path, a, b in zip(brain_slices, split, whole, strict=True):
        assert a.mask is not None and np.array_equal(a.mask, b.mask), path.name
        lesions += int(a.mask.any())
    assert lesions >= 6


@openmp
def test_a_part_s_pass_starts_before_the_rest_of_its_batch_is_read(brain_slices: list[Path]) -> None:
    engine = ExpertEngine(read_bundle(bundle_dir("brain_mri_lesion_seg")))
    engine.passes = SideBySide(threads=2)
    assert [len(p) for p in engine.passes.split(8)] == [4, 4]
    first_pass, waited = threading.Event(), []
    forward, prepare = engine.forward, engine._prepare

    def noting_forward(batch: torch.Tensor) -> torch.Tensor:
        first_pass.set()
        return forward(batch)

    def last_read_after_a_pass(item: object) -> dict[str, object]:
        if item == brain_slices[7]:  # the batch's last image is read only once a pass has started
            waited.append(first_pass.wait(timeout=60))
        return prepare(item)

    engine.forward, engine._prepare = noting_forward, last_read_after_a_pass  # type: ignore[method-assign]
    streamed = engine.predict(brain_slices[:8], batch_size=8)
    assert waited == [True]  # with the whole batch read before any pass, this would wait out its timeout
    engine.forward, engine._prepare = forward, prepare  # type: ignore[method-assign]
    for a, b in zip(streamed, engine.predict(brain_slices[:8], batch_size=8), strict=True):
        assert a.mask is not None and np.array_equal(a.mask, b.mask)
