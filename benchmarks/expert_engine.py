"""Speed of mimir's experts: the engine and the ``segment`` tool against the bare network, in one run.

Three figures, all warm (each expert loaded once before timing), on freshly generated demo images:

1. Per image: ``segment`` work (the engine's read, preprocessing, network and post transforms, the
   mask written once as NIfTI, the measurement) and the full ``segment`` tool call (plus input
   hashing and the result cache) against the bare network pass (the bundle's inferer on the
   preprocessed batch) on the same images: single images, and batches of 16. The network and the work
   are timed in turn; the ratios are of the fastest runs, and ``*_paired_median`` the median ratio of
   the runs made back to back.
   Goals: at most 2x the network alone for single images, at most 1.2x per image in batches of 16.
   On the CPU the engine runs a batch's pass as passes over its parts side by side
   (``tools/bundles/side_by_side.py``): ``engine_passes_batch16_s`` is that schedule's network time
   alone, and ``ratio_batch16_to_engine_passes_paired_median`` the work against it (what the read,
   post transforms, write and measurement add to the engine's own network time).
2. Whole-volume segmentation of a DICOM series through the ``segment`` tool (the demo writes
   47-slice MR series): goal under 2 s on the CPU.
3. ``mimir eval --suite demo`` (agent runner, rules planner) on a small fresh demo: wall time per
   item against the time spent in network passes (the time any pass ran: passes side by side count once).

    .venv/bin/python benchmarks/expert_engine.py [--images 32] [--repeats 3] [--patients 5] [--no-eval]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mimir.domain import CaseImage
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.analysis.imaging import file_stem
from mimir.tools.bundles.engine import ENGINES, ExpertEngine
from mimir.tools.bundles.workflow import read_bundle
from mimir.tools.experts.evaluate import write_png
from mimir.tools.experts.train import bundle_dir
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.runner import ToolRunner
from mimir.tools.segment import segment_files

if TYPE_CHECKING:
    import torch

EXPERT = "brain_mri_lesion_seg"


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``fn`` (seconds): the least disturbed by other processes."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved(network: Callable[[], object], work: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """The fastest of ``repeats`` runs of each, and the median ratio of the pairs run back to back.

    The two are taken in turn, so a change in the machine's load reaches both figures of a ratio alike
    rather than one of them; each round's ratio compares two runs seconds apart.
    """
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((network, times[0]), (work, times[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    paired = statistics.median(w / n for n, w in zip(*times, strict=True))
    return min(times[0]), min(times[1]), paired


def covered(spans: list[tuple[float, float]]) -> float:
    """Seconds during which at least one of the (start, end) spans ran: overlapping passes count once."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def demo_slices(folder: Path, n: int) -> list[Path]:
    """``n`` fresh 256x256 T1C key-image PNGs from the demo generator (anatomy pool 1)."""
    from mimir.demo.synth import mri_slice_sample

    rng = np.random.default_rng(20261202)
    return [write_png(mri_slice_sample(rng, size=256, pool=1)[0]["T1C"], folder / f"s{i:03d}.png") for i in range(n)]


def segment_work(engine: ExpertEngine, paths: list[Path], out: Path) -> None:
    """What ``segment`` does for each image besides the tool runner: read, predict, write the mask, measure."""
    for path, (mask_file, report) in zip(paths, segment_files(engine, paths, out, batch_size=len(paths)), strict=True):
        assert mask_file == out / f"{file_stem(path)}_seg.nii.gz", report.assessment


def per_image(paths: list[Path], settings: Settings, repeats: int) -> dict[str, float]:
    """Seconds per image: network alone, segment work and the tool call; single and batched."""
    engine = ENGINES.get(read_bundle(bundle_dir(EXPERT)))
    with tempfile.TemporaryDirectory(prefix="mimir-bench-") as tmp:
        out = Path(tmp)
        segment_work(engine, paths[:2], out)  # warm: first reads, first forward
        singles = [engine.preprocess([p]) for p in paths]
        batches = [engine.preprocess(paths[i : i + 16]) for i in range(0, len(paths) - 15, 16)]
        n_batched = 16 * len(batches)

        def segment_singles() -> None:
            for p in paths:
                segment_work(engine, [p], out)

        def segment_batches() -> None:
            for i in range(0, n_batched, 16):
                segment_work(engine, paths[i : i + 16], out)

        single = interleaved(lambda: [engine.forward(x) for x in singles], segment_singles, repeats)
        batch = interleaved(lambda: [engine.forward(b) for b in batches], segment_batches, repeats)
        # the engine's own schedule of the same passes (side by side on the CPU), against the same work
        passes = interleaved(lambda: [engine.passes.run(engine.forward, b) for b in batches], segment_batches, repeats)
        fig = {
            "forward_single_s": single[0] / len(paths), "segment_single_s": single[1] / len(paths),
            "forward_batch16_s": batch[0] / n_batched, "segment_batch16_s": batch[1] / n_batched,
            "ratio_single_paired_median": single[2], "ratio_batch16_paired_median": batch[2],
            "engine_passes_batch16_s": passes[0] / n_batched, "engine_passes_side_by_side": float(engine.passes.active),
            "ratio_batch16_to_engine_passes_paired_median": passes[2],
        }
    registry = build_registry(settings, plugins=False)

    def tool_calls() -> None:  # a fresh context each round: no cache hits, every image runs
        ctx = ToolContext(settings, images=[CaseImage(path=str(p), modality="MR") for p in paths])
        runner = ToolRunner(registry, ctx)
        for i in range(len(paths)):
            runner.call("segment", {"image_index": i, "expert": EXPERT})

    fig["tool_single_s"] = best_of(tool_calls, repeats) / len(paths)
    fig["ratio_single"] = fig["segment_single_s"] / fig["forward_single_s"]
    fig["ratio_batch16"] = fig["segment_batch16_s"] / fig["forward_batch16_s"]
    fig["ratio_tool_single"] = fig["tool_single_s"] / fig["forward_single_s"]
    return fig


def whole_series(settings: Settings, folder: Path, repeats: int) -> dict[str, float]:
    """The ``segment`` tool on one demo MR series (every other slice of a 95-slice volume), warm."""
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions

    build_demo(folder, patients=1, seed=20261203, workers=1, opts=BuildOptions(nifti=False))
    truth = json.loads((folder / "ground_truth.json").read_text())
    image = next(im for im in truth["patients"][0]["visits"][0]["images"] if im["sequence"] == "T1C")
    series = folder / image["series_dir"]
    registry = build_registry(settings, plugins=False)

    def call() -> None:
        ctx = ToolContext(settings, images=[CaseImage(path=str(series), modality="MR")])
        ToolRunner(registry, ctx).call("segment", {"image_index": 0, "expert": EXPERT})

    call()  # warm
    slices = len([p for p in series.iterdir() if p.is_file()])
    return {"series_slices": float(slices), "series_segment_s": best_of(call, repeats)}


def eval_demo(settings: Settings, folder: Path, patients: int) -> dict[str, float]:
    """``mimir eval --suite demo`` on temporal and comparison items: wall per item against network time."""
    from mimir.evals.run import EvalOptions, run_eval
    from mimir.evals.runners import RunnerConfig

    spans: list[tuple[float, float]] = []  # (start, end) of every pass; passes side by side overlap
    original = ExpertEngine.forward

    def timed(self: ExpertEngine, batch: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        try:
            return original(self, batch)
        finally:
            spans.append((start, time.perf_counter()))

    ExpertEngine.forward = timed  # type: ignore[method-assign, unused-ignore]  # timed for this run, restored below
    subsets = [f"{a}-{v}" for a in ("temporal", "comparison") for v in ("png", "dicom", "nifti", "series")]
    opts = EvalOptions(suite="demo", seed=20261204, patients=patients, runner=RunnerConfig(name="agent"), out=folder,
                       subsets=subsets, concurrency=1, progress=False)
    start = time.perf_counter()
    summary, records = run_eval(opts, settings)
    wall = time.perf_counter() - start
    ExpertEngine.forward = original  # type: ignore[method-assign, unused-ignore]
    latencies = [r.latency_s for r in records.values()]
    spent = {"forward_s": covered(spans)}
    return {"eval_items": float(len(records)), "eval_wall_s": wall, "eval_item_median_s": statistics.median(latencies),
            "eval_forward_s_per_item": spent["forward_s"] / max(len(records), 1),
            "eval_ratio": sum(latencies) / max(spent["forward_s"], 1e-9), "eval_accuracy": summary.overall.accuracy or 0.0}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--patients", type=int, default=5)
    parser.add_argument("--no-eval", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import torch

    with tempfile.TemporaryDirectory(prefix="mimir-bench-") as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", device="cpu").ensure_dirs()
        (root / "png").mkdir()
        figures: dict[str, float] = {"torch_threads": float(torch.get_num_threads())}
        figures |= per_image(demo_slices(root / "png", args.images), settings, args.repeats)
        figures |= whole_series(settings, root / "series", args.repeats)
        if not args.no_eval:
            eval_settings = Settings(data_dir=root / "eval-data", device="cpu").ensure_dirs()
            figures |= eval_demo(eval_settings, root / "eval", args.patients)
    json.dump({k: round(v, 4) for k, v in figures.items()}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
