"""Questions about a patient's timeline, scored against the demo simulation (``mimir ask --patient ID --json``).

For every MRI and CT demo patient with two or more visits, two closed questions: the change since the
prior study (the visit before the latest against the latest) and the change since baseline (the
first visit against the latest). The gold class is the simulation's own: whole-lesion volume up at
least 40 % (larger), within 5 % (about the same) or down at least 30 % (smaller); a pair between those
classes is *borderline*: an abstention or an answer in the right direction is not wrong there.

Ill-posed questions, where the only right answer is an abstention with the reason:

- "since the prior study" for a patient with one study (the fundus patients);
- two images of the latest study (two sequences, one visit) asked about a change since the prior;
- the T1 of the prior visit and the FLAIR of the latest asked about a change since the prior (sizes on
  different sequences);
- the PNG and the DICOM of the latest key image asked how the lesion changed from the first image to
  the second (one study is no change over time);
- "since the prior CT" for a patient with MRI only (and the reverse).

Each question goes through the real command line (``mimir ask --json``, run in process) on a timeline
loaded from a freshly built demo set::

    python -m mimir.evals.timeline_questions --seed 4242 --patients 10 [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from mimir.demo.truth import GroundTruth, PatientTruth, VisitTruth, classify_change

_OPTIONS = {"increase": ("It has grown", "It is larger", "Progression: the lesion is bigger"),
            "stable": ("It is unchanged", "About the same size", "Stable"),
            "decrease": ("It has shrunk", "It is smaller", "Regression: the lesion is smaller")}
_GOLD = {"progressing": "increase", "stable": "stable", "improving": "decrease"}
_PRIOR = ("Compared with the prior study, how has the {f} changed on the current scan?",
          "How has the {f} changed since the previous study?",
          "How has the {f} changed since the last scan?")
_BASELINE = ("How has the {f} changed since baseline?",
             "Compared with the baseline study, how has the {f} changed on the most recent scan?",
             "How does the {f} on the latest scan compare with the first scan?")


def _closed(rng: np.random.Generator, stem: str) -> tuple[str, dict[str, str]]:
    """The stem with shuffled options (one wording per change); returns the text and letter -> change."""
    kinds = list(_OPTIONS)
    rng.shuffle(kinds)
    letters = {chr(65 + k): kind for k, kind in enumerate(kinds)}
    lines = [f"{letter}: {_OPTIONS[kind][int(rng.integers(3))]}" for letter, kind in letters.items()]
    return stem + "\n" + "\n".join(lines), letters


def _ask(app: Any, patient: str, question: str, images: list[str] | None = None) -> dict[str, Any]:
    from typer.testing import CliRunner

    args = ["ask", "--json", "--patient", patient, *(["--images", *images] if images else []), question]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    if result.exit_code != 0:
        raise RuntimeError(f"mimir ask failed ({result.exit_code}): {result.output[-500:]}")
    return dict(json.loads(result.stdout))


def _score(answer: dict[str, Any], letters: dict[str, str], gold: str | None, ratio: float) -> str:
    """Correct / wrong / abstained for a well-posed item; for a borderline one, wrong only against the direction."""
    if answer["status"] != "ok":
        return "abstained"
    said = letters.get(answer["letter"] or "")
    if gold is not None:
        return "correct" if said == gold else "wrong"
    direction = "increase" if ratio > 1 else "decrease"
    return "consistent" if said == direction else "wrong"


def _well_posed(app: Any, rng: np.random.Generator, p: PatientTruth, rows: list[dict[str, Any]]) -> None:
    finding = "haemorrhage" if p.kind == "ct" else "tumour"
    last = p.visits[-1]
    for kind, ref, stems in (("prior", p.visits[-2], _PRIOR), ("baseline", p.visits[0], _BASELINE)):
        ratio = last.whole_ml / ref.whole_ml if ref.whole_ml > 0 else float("inf")
        gold_class = classify_change(ref.whole_ml, last.whole_ml)
        gold = _GOLD.get(gold_class or "")
        question, letters = _closed(rng, stems[int(rng.integers(len(stems)))].format(f=finding))
        answer = _ask(app, p.patient_id, question)
        compared = sorted({str(e["values"].get("study_date")) for e in answer["evidence"] if "study_id" in e["values"]})
        rows.append({"patient": p.patient_id, "kind": p.kind, "trajectory": p.trajectory, "question": kind,
                     "visits": len(p.visits), "gold": gold or "borderline", "ratio": round(ratio, 3),
                     "answer": letters.get(answer["letter"] or "", answer["status"]), "compared": compared,
                     "expected": sorted({str(ref.study_date), str(last.study_date)}),
                     "score": _score(answer, letters, gold, ratio), "reason": answer.get("abstain_reason")})


def _ill_posed(app: Any, rng: np.random.Generator, demo: Path, p: PatientTruth, rows: list[dict[str, Any]]) -> None:
    question, _ = _closed(rng, "How has the lesion changed since the prior study?")
    cases: list[tuple[str, str, list[str] | None]] = []
    if len(p.visits) == 1:
        cases.append(("one study", question, None))
    if p.kind == "mri":
        cases.append(("no such modality", _closed(rng, "How has the lesion changed since the prior CT?")[0], None))
        two = [str((demo / im.dicom).resolve()) for im in p.visits[-1].images[:2]]
        cases.append(("one visit, two sequences", question, two))
        if len(p.visits) >= 2:
            mixed = [_image(demo, p.visits[-2], "T1"), _image(demo, p.visits[-1], "FLAIR")]
            cases.append(("two visits, two sequences", question, mixed))
    if p.kind == "ct":
        cases.append(("no such modality", _closed(rng, "How has the lesion changed since the prior MRI?")[0], None))
    if p.kind in ("mri", "ct"):
        latest = next(im for im in p.visits[-1].images if im.sequence in ("T1C", "CT"))
        copies = [str((demo / latest.png).resolve()), str((demo / latest.dicom).resolve())]
        between = _closed(rng, "How has the lesion changed from the first image to the second?")[0]
        cases.append(("one image, two files", between, copies))
    for what, q, images in cases:
        answer = _ask(app, p.patient_id, q, images)
        rows.append({"patient": p.patient_id, "kind": p.kind, "question": what, "gold": "abstain",
                     "answer": answer["letter"] or answer["status"], "reason": answer.get("abstain_reason"),
                     "score": "correct" if answer["status"] != "ok" else "wrong"})


def _image(demo: Path, visit: VisitTruth, sequence: str) -> str:
    """The DICOM file of one sequence of a visit."""
    return str((demo / next(im.dicom for im in visit.images if im.sequence == sequence)).resolve())


def run(seed: int, patients: int, out: Path) -> dict[str, Any]:
    """Build and load the demo set, ask every question, and count the outcomes."""
    import typer

    from mimir.agent import cli
    from mimir.demo.build import build_demo
    from mimir.memory.db import open_database
    from mimir.memory.ingest.demo import load_demo
    from mimir.settings import Settings

    demo, data = out / "demo", out / "data"
    os.environ["MIMIR_DATA_DIR"] = str(data)
    if not (demo / "suite.json").is_file():
        build_demo(demo, patients=patients, seed=seed, workers=2)
    settings = Settings().ensure_dirs()
    load_demo(open_database(settings), demo, settings)
    app = typer.Typer()
    cli.register(app)
    app.command("version")(lambda: None)
    truth = GroundTruth.model_validate_json((demo / "ground_truth.json").read_text())
    rng = np.random.default_rng([seed, 14])
    rows: list[dict[str, Any]] = []
    for p in truth.patients:
        if p.kind in ("mri", "ct") and len(p.visits) >= 2:
            _well_posed(app, rng, p, rows)
        _ill_posed(app, rng, demo, p, rows)
    return {"seed": seed, "patients": patients, "rows": rows, "summary": summarise(rows)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per group: prior and baseline (well-posed), borderline, ill-posed."""
    groups: dict[str, Counter[str]] = {}
    for r in rows:
        group = ("borderline" if r["gold"] == "borderline" else r["question"]) if r["question"] in ("prior", "baseline") \
            else "ill-posed"
        groups.setdefault(group, Counter())[r["score"]] += 1
    well = groups.get("prior", Counter()) + groups.get("baseline", Counter())
    n = sum(well.values())
    return {"groups": {k: dict(v) for k, v in groups.items()},
            "well_posed_accuracy": round(well["correct"] / n, 3) if n else None,
            "ill_posed_wrong": groups.get("ill-posed", Counter())["wrong"],
            "borderline_wrong": groups.get("borderline", Counter())["wrong"]}


def main(argv: list[str] | None = None) -> None:
    """Command line: build, load, ask, print the rows and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="Working folder (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="Print everything as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.seed, args.patients, args.out or Path(tmp))
    if args.json:
        json.dump(result, sys.stdout, indent=1, default=str)
        return
    for r in result["rows"]:
        sys.stdout.write(f"{r['patient']} {r['question']:<26} gold={r['gold']:<10} answer={r['answer']:<10} "
                         f"{r['score']:<10} {r.get('reason') or ''}\n")
    sys.stdout.write(json.dumps(result["summary"], indent=1) + "\n")


if __name__ == "__main__":
    main()
