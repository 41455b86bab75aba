"""Accuracy of a demo-suite run per kind of patient (MRI, head CT, fundus, chest radiograph, mammography).

``mimir eval --suite demo`` reports per subset (ability and variant); this splits a finished run's
closed items by the kind of patient their images come from, using the suite's ground truth:

    .venv/bin/mimir eval --suite demo --runner agent --seed 4242 --patients 18 --out runs/s4242
    .venv/bin/python benchmarks/demo_by_kind.py runs/s4242 [--kinds cxr mg]

Prints one row per kind, ability and variant: correct / wrong / abstained / failed and the share
correct, and the abstention reasons of any item of the chosen kinds that was not answered correctly.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from mimir.evals.run_store import read_records


def _suite_folder(run: Path) -> Path:
    found = sorted(run.glob("demo-suite-s*-p*"))
    if not found:
        raise SystemExit(f"{run} holds no demo suite (demo-suite-s<seed>-p<patients>); is it a demo run?")
    return found[0]


def _kind_of_paths(suite: Path) -> dict[str, str]:
    truth = json.loads((suite / "ground_truth.json").read_text())
    return {im[key]: p["kind"] for p in truth["patients"] for v in p["visits"] for im in v["images"]
            for key in ("png", "dicom")}


def main() -> None:
    """Parse arguments, read the run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="Run folder of a demo-suite evaluation")
    parser.add_argument("--kinds", nargs="*", default=["cxr", "mg"], help="Kinds whose misses are listed")
    args = parser.parse_args()
    suite = _suite_folder(args.run)
    kinds = _kind_of_paths(suite)
    files = {f: json.loads((suite / f).read_text()) for f in {r.file for r in read_records(args.run).values()}}
    table: collections.Counter[tuple[str, str, str, str]] = collections.Counter()
    misses = []
    for rec in read_records(args.run).values():
        if not rec.closed:
            continue
        item = files[rec.file][rec.index]
        kind = kinds[item["images"][0]]
        variant = rec.subset.rsplit("-", 1)[-1]
        outcome = ("correct" if rec.score == 1 else "wrong") if rec.status == "ok" else rec.status
        table[(kind, rec.ability, variant, outcome)] += 1
        if kind in args.kinds and outcome != "correct":
            misses.append(f"{rec.key} [{outcome}] {item['conversation'][0]['content'][:110]!r} -> "
                          f"{rec.letter} (gold {rec.gold_letter}) {rec.abstain_reason or rec.error or ''}")
    groups = sorted({k[:3] for k in table})
    print(f"{'kind':8} {'ability':12} {'variant':7} correct wrong abstained other  share")
    for g in groups:
        counts = {o: table[(*g, o)] for o in ("correct", "wrong", "abstained")}
        other = sum(v for k, v in table.items() if k[:3] == g and k[3] not in counts)
        n = sum(counts.values()) + other
        print(f"{g[0]:8} {g[1]:12} {g[2]:7} {counts['correct']:7d} {counts['wrong']:5d} {counts['abstained']:9d} "
              f"{other:5d}  {counts['correct'] / n:.3f}")
    for line in misses:
        print(line)


if __name__ == "__main__":
    main()
