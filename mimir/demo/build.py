"""Build a demo set: patients in parallel, then ground truth, manifest, questions and the suite index."""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing as mp
import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from mimir import __version__
from mimir.demo.qformat import ABILITY_FILES, VARIANTS, VOLUME_VARIANTS, QItem, format_item, in_variant
from mimir.demo.questions import comparison, coreference, temporal
from mimir.demo.reasoning import reasoning
from mimir.demo.render import BuildOptions, build_patient, manifest_rows
from mimir.demo.truth import GroundTruth, Kind, PatientTruth

log = logging.getLogger(__name__)

OUTPUT_FOLDERS = ("png", "dicom", "series", "nifti", "labels")
MANIFEST_FIELDS = ("patient", "date", "modality", "description", "laterality", "view", "body_part", "path", "study_uid", "sequence")
_GENERATORS = {"temporal": temporal, "comparison": comparison, "coreference": coreference, "reasoning": reasoning}


class DemoSuiteFile(BaseModel):
    """One question file of the suite."""

    file: str
    ability: str
    variant: str
    items: int
    closed: int
    open: int


class BuildResult(BaseModel):
    """What ``build_demo`` wrote (also the content of ``suite.json``)."""

    name: str = "mimir demo suite"
    seed: int
    patients: int
    out_dir: str
    generator: str = f"mimir {__version__}"
    files: list[DemoSuiteFile] = Field(default_factory=list)
    ground_truth: str = "ground_truth.json"
    manifest_csv: str = "manifest.csv"
    manifest_json: str = "manifest.json"
    images: int = 0
    seconds: float = Field(default=0.0, description="Wall time of the build (not written to suite.json)")


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / "suite.json").exists():
            raise FileExistsError(f"{out} is not empty and holds no demo set (no suite.json); choose an empty folder")
        for name in OUTPUT_FOLDERS:
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def _warm_templates(kinds: tuple[Kind, ...]) -> None:
    """Load the anatomy of the kinds being built once in the parent, so forked workers share it.

    Only those kinds: the head-CT template needs TotalSegmentator's atlas (the 'totalseg' extra), which a
    build without head-CT patients must not require.
    """
    from mimir.demo.anatomy import brain_template, ct_template, retina_photo
    from mimir.demo.chest_anatomy import chest_source

    warmers: dict[str, Callable[[], object]] = {
        "mri": brain_template, "ct": ct_template, "fundus": lambda: retina_photo(256), "cxr": chest_source,
    }
    for kind in kinds:
        warm = warmers.get(kind)
        if warm is not None:
            warm()


def build_patients(out: Path, n: int, seed: int, workers: int, opts: BuildOptions,
                   progress: Callable[[int], None] | None = None) -> list[PatientTruth]:
    """Render patients 0..n-1, in ``workers`` processes when > 1; the result is the same either way."""
    from mimir.demo.patient_plan import cycle

    kinds = cycle(opts.kinds)  # an unknown kind fails here, before anything is written
    job = partial(build_patient, seed, out=out, opts=opts)
    truths: list[PatientTruth] = []
    if workers <= 1 or n <= 1:
        for i in range(n):
            truths.append(job(i))
            if progress:
                progress(1)
        return truths
    _warm_templates(kinds)
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(processes=workers) as pool:
        for truth in pool.imap(_call, [(job, i) for i in range(n)]):
            truths.append(truth)
            if progress:
                progress(1)
    return truths


def _call(args: tuple[Callable[[int], PatientTruth], int]) -> PatientTruth:
    fn, i = args
    return fn(i)


def make_items(truths: list[PatientTruth], seed: int) -> dict[str, list[QItem]]:
    """Questions per ability, patient by patient, from the ground truth alone."""
    items: dict[str, list[QItem]] = {a: [] for a in ABILITY_FILES}
    for n, truth in enumerate(truths):
        rng = np.random.default_rng([seed, 7, n])
        for ability in ABILITY_FILES:
            items[ability].extend(_GENERATORS[ability](rng, truth))
    return items


def write_questions(out: Path, items: dict[str, list[QItem]]) -> list[DemoSuiteFile]:
    """One Med-MIM JSON file per ability and variant; shared items keep one id in every variant.

    Volume variants (NIfTI, DICOM series) are written for the abilities asked on volumes, when the
    build wrote those files.
    """
    files = []
    for ability in ABILITY_FILES:
        for variant in (*VARIANTS, *VOLUME_VARIANTS):
            chosen = [(k, it) for k, it in enumerate(items[ability]) if in_variant(it, variant)]
            if not chosen and variant in VOLUME_VARIANTS:
                continue
            rows = [format_item(it, variant, f"demo-{ability}-{k:05d}") for k, it in chosen]
            name = f"demo_{ability}_{variant}.json"
            (out / name).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
            closed = sum(1 for _, it in chosen if it.closed)
            files.append(DemoSuiteFile(file=name, ability=ability, variant=variant, items=len(rows), closed=closed, open=len(rows) - closed))
    return files


def write_manifest(out: Path, truths: list[PatientTruth]) -> int:
    """``manifest.csv`` and ``manifest.json`` rows for every PNG; returns the row count."""
    rows = [r for t in truths for r in manifest_rows(t)]
    with (out / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (out / "manifest.json").write_text(json.dumps(rows, indent=1) + "\n")
    return len(rows)


def build_demo(out: str | Path, patients: int = 50, seed: int = 0, workers: int = 2,
               opts: BuildOptions | None = None, progress: Callable[[int], None] | None = None) -> BuildResult:
    """Build ``patients`` demo patients with ``seed`` under ``out``: same seed, byte-identical files."""
    start = time.perf_counter()
    out = Path(out)
    _prepare(out)
    truths = build_patients(out, patients, seed, workers, opts or BuildOptions(), progress)
    gt = GroundTruth(seed=seed, generator=f"mimir {__version__}", patients=truths)
    (out / "ground_truth.json").write_text(gt.model_dump_json(indent=1) + "\n")
    n_images = write_manifest(out, truths)
    files = write_questions(out, make_items(truths, seed))
    result = BuildResult(seed=seed, patients=patients, out_dir=str(out), files=files, images=n_images)
    (out / "suite.json").write_text(result.model_dump_json(indent=1, exclude={"seconds", "out_dir"}) + "\n")
    result.seconds = round(time.perf_counter() - start, 2)
    log.info("demo set of %d patients written to %s in %.1f s", patients, out, result.seconds)
    return result
