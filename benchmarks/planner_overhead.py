"""The planner's own overhead per question, with tool time taken out.

Every closed demo question (temporal, comparison, co-reference; png and dicom) is answered once with
the demo's oracle experts to record each tool outcome; then again with a runner that replays those
outcomes instantly. The second pass's wall time per question is the planner's overhead: the graph,
intake (timeline look-up by content hash), resolver, classifier, rules planner, parallel fan-out
and answer assembly. Goal: median < 10 ms.

``--breakdown`` also times the node functions themselves (mimir's code) apart from LangGraph's
scheduling, which includes a thread pool started per question for the parallel tool calls; on a
loaded machine thread start-up dominates. The load average is printed with the result.

    .venv/bin/python benchmarks/planner_overhead.py [--demo DIR] [--no-timeline] [--checkpointer]
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.agent_demo import demo_items, oracle_registry

from mimir.agent.entry import Agent
from mimir.settings import Settings
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.runner import ToolOutcome, ToolRunner

ABILITIES = ("temporal", "comparison", "coreference")


class Recorder:
    """Runner factory: real runs on the first pass, instant replays afterwards."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.outcomes: dict[tuple[str, str, tuple[str, ...]], ToolOutcome] = {}
        self.replay = False

    def __call__(self, ctx: ToolContext) -> Any:
        recorder = self

        class _Runner:
            def call(self, name: str, args: dict[str, Any]) -> ToolOutcome:
                key = (name, repr(sorted(args.items())), tuple(i.path for i in ctx.images))
                if recorder.replay:
                    return recorder.outcomes[key]
                out = ToolRunner(recorder.registry, ctx).call(name, args)
                recorder.outcomes[key] = out
                return out

        return _Runner()


NODE_TIME: collections.defaultdict[str, float] = collections.defaultdict(float)


def time_nodes() -> None:
    """Wrap the graph's node functions with timers (before any graph is built)."""
    import mimir.agent.graph as graph

    for name in ("intake", "resolve", "classify", "plan", "act", "check", "answer"):
        def wrap(f: Any, name: str = name) -> Any:
            @functools.wraps(f)
            def timed(state: Any, runtime: Any) -> Any:
                start = time.perf_counter()
                try:
                    return f(state, runtime)
                finally:
                    NODE_TIME[name] += time.perf_counter() - start
            return timed

        setattr(graph, name, wrap(getattr(graph, name)))


def main() -> None:
    """Run both passes and print the overhead distribution."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", type=Path, help="A built demo suite (default: build 5 patients, seed 3)")
    ap.add_argument("--no-timeline", action="store_true", help="Run without the timeline database")
    ap.add_argument("--checkpointer", action="store_true", help="Answer on a SQLite thread (checkpoint per step)")
    ap.add_argument("--breakdown", action="store_true", help="Also time the node functions")
    ap.add_argument("--load", action="store_true", help="Load the demo into the timeline first (as evals do)")
    args = ap.parse_args()
    if args.breakdown:
        time_nodes()
    tmp = Path(tempfile.mkdtemp(prefix="mimir-bench-"))
    demo = args.demo
    if demo is None:
        from mimir.demo.build import build_demo

        demo = tmp / "demo"
        build_demo(demo, patients=5, seed=3, workers=1)
    settings = Settings(data_dir=tmp / "data").ensure_dirs()
    if args.load and not args.no_timeline:
        from mimir.memory.db import open_database
        from mimir.memory.ingest.demo import load_demo

        load_demo(open_database(settings), demo, settings)
    registry = oracle_registry(demo)
    recorder = Recorder(registry)
    agent = Agent(settings, registry=registry, runner_factory=recorder, timeline=not args.no_timeline)
    cases = [c for a in ABILITIES for v in ("png", "dicom") for c, _ in demo_items(demo, a, v)]
    times: list[float] = []
    for replay in (False, True):
        recorder.replay = replay
        NODE_TIME.clear()
        for n, case in enumerate(cases):
            thread = f"bench-{replay}-{n}" if args.checkpointer else None
            start = time.perf_counter()
            agent.answer(case, thread_id=thread)
            if replay:
                times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"questions: {len(times)}  timeline: {not args.no_timeline} (demo loaded: {args.load})  "
          f"checkpointer: {args.checkpointer}")
    print(f"planner overhead per question (ms): median {statistics.median(times):.2f}  p90 {p90:.2f}  "
          f"min {times[0]:.2f}  max {times[-1]:.2f}")
    if args.breakdown:
        per_q = {k: round(v * 1000 / len(times), 3) for k, v in NODE_TIME.items()}
        print(f"node functions per question (ms): total {sum(per_q.values()):.2f}  {per_q}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("goal median < 10 ms:", "met" if statistics.median(times) < 10 else "NOT met")


if __name__ == "__main__":
    main()
