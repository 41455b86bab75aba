"""The Med-MIM loader against the real published files (counts, traps, keys, sources, images)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from fixtures.paths import MEDMIM_DIR

from mimir.evals.loader import LoaderError, load_file, load_medmim, missing_report

MEDMIM = MEDMIM_DIR
pytestmark = pytest.mark.skipif(not (MEDMIM / "README.md").is_file(), reason="Med-MIM files not present")

# The README's table: n and closed/open per subset.
TABLE = {"temporal": (933, 903, 30), "reasoning": (484, 454, 30), "comparison": (344, 208, 136),
         "coreference": (1463, 1403, 60), "odir": (600, 300, 300), "rad": (366, 293, 73)}


@pytest.fixture(scope="module")
def items():
    return load_medmim(MEDMIM)


def test_counts_match_readme_table(items):
    n = Counter(it.subset for it in items)
    closed = Counter(it.subset for it in items if it.closed)
    assert {s: (n[s], closed[s], n[s] - closed[s]) for s in TABLE} == TABLE


def test_keys_unique_although_ids_repeat(items):
    assert len({it.key for it in items}) == len(items) == 4190
    assert len({(it.file, it.item_id) for it in items}) < len(items)


def test_odir_item_with_blank_option_line_stays_closed(items):
    it = next(i for i in items if i.key == "Med_MIM_benchmark_Held_out_ODIR.json#62")
    assert it.options.keys() == {"A", "B", "D"} and it.gold_letter == "D"
    assert it.stem == "What is the diagnosis for the first fundus image?"


def test_gold_by_letter_when_text_differs(items):
    it = next(i for i in items if i.key == "Med_MIM_benchmark_Held_out_RAD.json#119")
    assert it.gold_letter == "A"
    assert it.gold_text.split(": ", 1)[1] != it.options["A"]


def test_sources_and_abilities(items):
    pairs = Counter((it.subset, it.source) for it in items)
    assert pairs[("comparison", "MS-CXR-T")] == 270 and pairs[("odir", "ODIR")] == 600
    assert pairs[("rad", "VQA-RAD")] == 366 and pairs[("temporal", "LUMIERE")] == 631
    assert {it.ability for it in items if it.subset in ("odir", "rad")} == {"other"}
    assert all("<image>" not in it.stem and it.stem for it in items)


def test_missing_images_counted_and_found_under_root(tmp_path):
    rows = json.loads((MEDMIM / "Med_MIM_benchmark_Held_out_ODIR.json").read_text())[:3]
    f = tmp_path / "Med_MIM_benchmark_Held_out_ODIR.json"
    f.write_text(json.dumps(rows))
    root = tmp_path / "images"
    items = load_file(f, root)
    assert len(missing_report(items)) == 3
    retina = Path(__import__("skimage").data_dir) / "retina.jpg"
    for rel in rows[0]["images"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(retina, root / rel)
    items = load_file(f, root)
    assert list(missing_report(items)) == [f"{f.name}#1", f"{f.name}#2"]
    assert items[0].subset == "odir" and items[0].closed


def test_malformed_file_is_refused_with_its_name(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text(json.dumps([{"id": "x", "images": ["a.png"], "conversation": [
        {"role": "user", "content": "<image><image>Q?\nA: yes\nB: no\n"},
        {"role": "assistant", "content": "A: yes"}], "source": "s"}]))
    with pytest.raises(LoaderError, match="bad.json item 0: 2 <image> tags, 1 images"):
        load_file(f)
