"""Measure the VLM layer's own overhead on the CPU: closed-answer parsing, and request latency of
`mimir serve-vlm` over HTTP (tiny random LLaVA from tests/fixtures) for 1..4 images, joint vs decomposed.

    .venv/bin/python benchmarks/vlm_latency.py [--repeats 5]

Against a real server instead:  --url http://127.0.0.1:8000/v1 --model med-mantis --profile med-mantis
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def bench_parser(n: int = 20000) -> float:
    from test_vlm_parsing import CASES

    from mimir.tools.vlm.parsing import parse_closed

    start = time.perf_counter()
    for i in range(n):
        text, options, _, _ = CASES[i % len(CASES)]
        parse_closed(text, options)
    return n / (time.perf_counter() - start)


def bench_server(url: str | None, model: str, profile_name: str | None, repeats: int) -> None:
    from contextlib import nullcontext

    from fixtures.vlm_images import retina_pngs
    from fixtures.vlm_servers import run_uvicorn
    from fixtures.vlm_tiny import save_tiny_vlm

    from mimir.tools.vlm.factory import profile_for
    from mimir.tools.vlm.hf_backend import HFBackend
    from mimir.tools.vlm.openai_backend import OpenAIBackend
    from mimir.tools.vlm.profiles import generic_profile
    from mimir.tools.vlm.strategies import StrategyClient
    from mimir.tools.vlm.vlm_server import create_app

    tmp = Path(tempfile.mkdtemp())
    profile = (profile_for(profile_name) if profile_name else generic_profile(model)).model_copy(
        update={"max_new_tokens": 16})
    ctx = nullcontext(url) if url else run_uvicorn(create_app(HFBackend(save_tiny_vlm(tmp / "m"), model=model, device="cpu"), profile))
    images = retina_pngs(tmp, 4)
    with ctx as base:
        backend = OpenAIBackend(base_url=str(base), model=model)
        for strategy in ("joint", "decomposed"):
            client = StrategyClient(backend, profile, strategy=strategy)
            client.answer(images[:1], "warm up")
            for n in range(1, 5):
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    client.answer(images[:n], "compare the image", {"A": "larger", "B": "stable"})
                    times.append(time.perf_counter() - start)
                print(f"{strategy:10s} {n} image(s): median {statistics.median(times) * 1000:7.1f} ms over {repeats}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url")
    ap.add_argument("--model", default="tiny-vlm")
    ap.add_argument("--profile")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"parse_closed: {bench_parser():,.0f} answers/s")
    bench_server(args.url, args.model, args.profile, args.repeats)


if __name__ == "__main__":
    main()
