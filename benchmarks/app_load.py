"""Load on the HTTP API: N concurrent sessions asking questions, time to the first streamed event.

Starts `mimir serve --no-ui` in a subprocess on a loopback port over a fresh demo timeline, then, for
each N given, runs N concurrent sessions (each asks Q questions about two visits of a demo patient).
Reports errors, the median and p95 time to the first agent event (the first event after the thread
id), and the median time to the answer. Goal: no errors at N=20 and N=40, median time to first
event under 300 ms with N=20.

    python benchmarks/app_load.py [--sessions 20 40] [--questions 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures.app_server import build_demo_timeline, free_port

QUESTION = "Looking at the second image versus the first, has the brain tumour progressed?\nA: progressing\nB: stable\nC: improving"


async def session(client: httpx.AsyncClient, ids: list[int], key: str, n: int, out: list[dict]) -> None:
    for _ in range(n):
        t0 = time.perf_counter()
        first = answer = None
        status = "ok"
        try:
            async with client.stream("POST", "/api/ask", json={"question": QUESTION, "image_ids": ids,
                                                               "patient_id": key}) as r:
                if r.status_code != 200:
                    status = f"http {r.status_code}"
                async for line in r.aiter_lines():
                    if line.startswith("event: ") and line != "event: thread" and first is None:
                        first = time.perf_counter() - t0
                    if line == "event: answer":
                        answer = time.perf_counter() - t0
                    if line == "event: error":
                        status = "error event"
        except httpx.HTTPError as e:
            status = f"{type(e).__name__}: {e}"
        if answer is None and status == "ok":
            status = "no answer"
        out.append({"first": first, "answer": answer, "status": status})


async def run(url: str, ids: list[int], key: str, sessions: int, questions: int) -> list[dict]:
    out: list[dict] = []
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        await asyncio.gather(*(session(client, ids, key, questions, out) for _ in range(sessions)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, nargs="+", default=[20, 40])
    ap.add_argument("--questions", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mimir-load-"))
    settings, _ = build_demo_timeline(root)
    port = free_port()
    env = {**os.environ, "MIMIR_DATA_DIR": str(settings.data_dir), "MIMIR_PORT": str(port)}
    server = subprocess.Popen([str(Path(sys.executable).parent / "mimir"), "serve", "--no-ui"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        key = httpx.get(f"{url}/api/patients").json()[0]["patient_key"]
        tl = httpx.get(f"{url}/api/patients/{key}/timeline").json()
        ids = [im["image_id"] for st in tl["studies"][:2] for im in st["images"]
               if im["sequence"] == "T1C" and im["file_format"] == "dicom"]
        # One warm-up question loads the experts once, as a running server would have.
        asyncio.run(run(url, ids, key, 1, 1))
        for n in args.sessions:
            t0 = time.perf_counter()
            results = asyncio.run(run(url, ids, key, n, args.questions))
            report(n, args.questions, results, time.perf_counter() - t0)
    finally:
        server.terminate()
        server.wait(timeout=30)


def report(sessions: int, questions: int, results: list[dict], wall: float) -> None:
    """Print errors and latencies of one load level."""
    errors = [r for r in results if r["status"] != "ok"]
    firsts = sorted(r["first"] for r in results if r["first"] is not None)
    answers = sorted(r["answer"] for r in results if r["answer"] is not None)
    print(f"sessions={sessions} questions/session={questions} requests={len(results)} wall={wall:.1f}s")
    print(f"  errors={len(errors)} {sorted({e['status'] for e in errors})}")
    if firsts:
        p95 = firsts[int(0.95 * (len(firsts) - 1))]
        print(f"  time to first event: median={statistics.median(firsts) * 1000:.0f} ms p95={p95 * 1000:.0f} ms "
              "(goal: median < 300 ms at 20 sessions)")
    if answers:
        print(f"  time to answer: median={statistics.median(answers):.2f} s max={answers[-1]:.2f} s")


if __name__ == "__main__":
    main()
