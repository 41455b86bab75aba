"""Throughput of ``mimir eval`` with the ``direct`` runner against a local OpenAI-compatible server.

The server (in this script) answers every chat completion after a fixed delay L and serves at most
C requests at once (an asyncio semaphore), like a VLM server with C decoding slots. With
``--concurrency C`` the evaluation should finish close to C / L items per second; the script
checks that it reaches at least 0.9 * C / L.

    .venv/bin/python benchmarks/eval_throughput.py --items 160 --latency 1.0 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from aiohttp import web
from PIL import Image

from mimir.evals.execute import run_local
from mimir.evals.loader import load_file
from mimir.evals.run_store import RunStore
from mimir.evals.runners import RunnerConfig, make_runner
from mimir.settings import Settings, VLMEndpoint


def serve(latency: float, capacity: int, port: int, ready: threading.Event, stats: dict) -> None:
    """Run the fake VLM server forever in this thread's event loop."""

    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        async with sem:
            stats["in_flight"] += 1
            stats["peak"] = max(stats["peak"], stats["in_flight"])
            await asyncio.sleep(latency)
            stats["in_flight"] -= 1
        stats["served"] += 1
        return web.json_response({
            "id": "cmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "A"}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 1, "total_tokens": 101},
        })

    async def main() -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", completions)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    sem = asyncio.Semaphore(capacity)  # bound to the loop on first use (Python >= 3.10)
    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_items(folder: Path, n: int) -> Path:
    """N closed two-image items in Med-MIM format, with small PNGs."""
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(folder / f"visit_{i}.png")
    rows = [{"id": f"bench-{k}", "images": ["visit_0.png", "visit_1.png"], "source": "bench",
             "conversation": [{"role": "user", "content": f"<image><image>Item {k}: progressing or stable?\nA: progressing\nB: stable\n"},
                              {"role": "assistant", "content": "A: progressing"}]} for k in range(n)]
    path = folder / "bench_temporal.json"
    path.write_text(json.dumps(rows))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=160)
    parser.add_argument("--latency", type=float, default=1.0, help="server delay per request (s)")
    parser.add_argument("--concurrency", type=int, default=8, help="server capacity and eval concurrency")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    port, ready, stats = free_port(), threading.Event(), {"in_flight": 0, "peak": 0, "served": 0}
    threading.Thread(target=serve, args=(args.latency, args.concurrency, port, ready, stats), daemon=True).start()
    ready.wait(10)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        items = load_file(write_items(folder, args.items))
        settings = Settings(data_dir=folder / "data", vlm=[VLMEndpoint(
            profile="bench-vlm", base_url=f"http://127.0.0.1:{port}/v1", max_concurrency=args.concurrency)])
        runner = make_runner(settings, RunnerConfig(name="direct"))
        with RunStore(folder / "warmup", {"runner": "direct"}) as store:  # first-use imports, connections
            run_local(items[: args.concurrency], runner, store, concurrency=args.concurrency, show_progress=False)
        with RunStore(folder / "run", {"runner": "direct"}) as store:
            t0 = time.perf_counter()
            records = run_local(items, runner, store, concurrency=args.concurrency, show_progress=False)
            elapsed = time.perf_counter() - t0
    ideal = args.concurrency / args.latency
    rate = len(records) / elapsed
    acc = np.mean([r.score for r in records.values()])
    print(f"items={len(records)} latency={args.latency}s capacity=concurrency={args.concurrency}")
    print(f"elapsed={elapsed:.2f}s throughput={rate:.1f} items/s ideal C/L={ideal:.1f} "
          f"ratio={rate / ideal:.3f} server_peak_in_flight={stats['peak']} accuracy={acc:.3f}")
    ok = rate >= 0.9 * ideal
    print("PASS" if ok else f"FAIL: below 0.9 * C/L = {0.9 * ideal:.1f} items/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
