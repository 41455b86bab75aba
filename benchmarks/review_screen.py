"""Review screen speed in a real browser: first paint of the page and a patient's timeline on screen.

Serves a fresh demo timeline (with DICOM series) in this process, waits for the server's warm-up,
then opens the page N times in fresh Chromium contexts (Debian's chromium via Playwright): each time
it records the first contentful paint, when the patient picker is on screen, and the time from
picking the patient until the timeline's rows and first thumbnails are on screen. Prints the median
and the worst of each against the budgets (first paint 2 s, timeline 1 s), and the machine's load.

    python benchmarks/review_screen.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures.app_server import build_demo_timeline, serve

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
BUDGETS = {"first_paint_s": 2.0, "timeline_s": 1.0}


def one_visit(browser, url: str, key: str) -> dict[str, float]:  # a Playwright browser
    """Open the page in a fresh context, pick ``key``; the three timings in seconds."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#patient input", timeout=60_000)
    paint = page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0].startTime") / 1000
    ready = page.evaluate("() => performance.now()") / 1000
    page.locator("#patient input").click()
    option = page.get_by_role("option", name=re.compile(key))
    start = time.perf_counter()
    option.click()
    page.wait_for_function("() => [...document.querySelectorAll('#timeline tr.tl-series img')].slice(0, 3)"
                           ".every(i => i.complete && i.naturalWidth > 0) && document.querySelector('#timeline tr.tl-series')",
                           timeout=60_000)
    timeline = time.perf_counter() - start
    context.close()
    return {"first_paint_s": paint, "picker_ready_s": ready, "timeline_s": timeline}


def main() -> None:
    """Parse, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as root:
        served = serve(build_demo_timeline(Path(root), series=True))
        server = next(served)
        key = next(p["patient_id"] for p in json.loads((server.demo_dir / "ground_truth.json").read_text())["patients"])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            runs = [one_visit(browser, server.url, key) for _ in range(args.runs)]
            browser.close()
        served.close()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {len(runs)} visits")
    for name in ("first_paint_s", "picker_ready_s", "timeline_s"):
        values = [r[name] for r in runs]
        budget = BUDGETS.get(name)
        verdict = "" if budget is None else f"  budget {budget:.1f} s: {'met' if max(values) < budget else 'NOT met'}"
        print(f"{name:15s} median {statistics.median(values):.3f} s  worst {max(values):.3f} s{verdict}")


if __name__ == "__main__":
    main()
