"""The review screen in a real browser: Debian's chromium driven by Playwright, against `mimir serve`.

A reviewer opens the app, picks a demo patient, selects two visits, asks whether the lesion
progressed, and sees the tool steps, the answer, the mask overlay and the measurement plot.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fixtures.app_server import LiveServer, live_server  # noqa: F401 - pytest fixture

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def page(live_server: LiveServer) -> Iterator[object]:  # noqa: F811
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        browser.close()


def _progressing_pair(server: LiveServer) -> tuple[str, list[int], str]:
    """The demo patient whose lesion progresses, its first two T1 post-contrast images, the gold."""
    truth = json.loads((server.demo_dir / "ground_truth.json").read_text())
    patient = next(p for p in truth["patients"] if p["trajectory"] == "progressing")
    key = patient["patient_id"]
    tl = httpx.get(f"{server.url}/api/patients/{key}/timeline").json()
    ids = [im["image_id"] for st in tl["studies"][:2] for im in st["images"]
           if im["sequence"] == "T1C" and im["file_format"] == "dicom"]
    assert len(ids) == 2, tl
    return key, ids, "progressing"


def test_review_a_progression_question(page, live_server: LiveServer) -> None:  # noqa: F811, ANN001
    key, ids, gold = _progressing_pair(live_server)
    page.goto(live_server.url, wait_until="domcontentloaded")
    page.wait_for_selector("#patient input", timeout=60_000)
    page.locator("#patient input").click()
    page.get_by_role("option", name=re.compile(key)).click()
    page.wait_for_selector(f"#images label:has-text('#{ids[0]}')", timeout=30_000)
    for image_id in ids:
        page.locator("#images label", has_text=f"#{image_id}").click()
    page.locator("#question textarea").fill(
        "Looking at the second image versus the first, has the brain tumour progressed?\n"
        "A: progressing\nB: stable\nC: improving"
    )
    page.locator("#ask").click()
    page.wait_for_function(
        "() => /(^|\\n)([ABC] · |Abstained)/.test(document.querySelector('#chat').innerText)", timeout=240_000
    )
    chat = page.locator("#chat").inner_text()
    answer = re.search(r"(?m)^([ABC]) · (.*)$", chat)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-review.png"), full_page=True)

    assert "🛠 segment on image 1" in chat and "🛠 segment on image 2" in chat, chat
    assert answer is not None, chat
    assert answer.group(1) == "A", chat  # A: progressing, as the simulation made it
    assert gold in answer.group(2).lower()
    page.wait_for_selector("#viewer img", timeout=30_000)
    page.wait_for_selector("#plot img", timeout=30_000)
    assert page.locator("#viewer img").first.get_attribute("src")
    assert page.locator("#plot img").first.get_attribute("src")
