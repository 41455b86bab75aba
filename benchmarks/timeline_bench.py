"""Timeline scale benchmark: prior lookups on a 1,000,000-study SQLite timeline, DICOM header ingestion.

Usage: python benchmarks/timeline_bench.py [--studies N] [--per-patient K] [--lookups L] [--dicom-files F]
                                          [--only {priors,ingest}] [--repeat R]
Goals: median prior lookup < 5 ms on SQLite; header ingestion >= 500 files/s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from sqlalchemy import insert

from mimir.memory.db import Database
from mimir.memory.ingest import ingest_paths
from mimir.memory.models import Patient, Study
from mimir.memory.queries import nearest_prior
from mimir.settings import Settings

MODALITIES = [("MR", "BRAIN"), ("CT", "CHEST"), ("CR", "CHEST"), ("MG", "BREAST")]
CHUNK = 20_000


def build_timeline(db: Database, n_studies: int, per_patient: int, rng: random.Random) -> None:
    n_patients = max(1, n_studies // per_patient)
    with db.engine.begin() as conn:
        for start in range(0, n_patients, CHUNK):
            conn.execute(insert(Patient), [{"id": i + 1, "patient_key": f"P{i:08d}"}
                                           for i in range(start, min(n_patients, start + CHUNK))])
    day0 = date(2005, 1, 1)
    rows = []
    with db.engine.begin() as conn:
        for k in range(n_studies):
            mod, bp = MODALITIES[rng.randrange(len(MODALITIES))]
            rows.append({"patient_id": k % n_patients + 1, "study_uid": f"1.2.826.0.1.{k}", "modality": mod,
                         "body_part": bp, "study_date": day0 + timedelta(days=rng.randrange(7000))})
            if len(rows) == CHUNK:
                conn.execute(insert(Study), rows)
                rows = []
        if rows:
            conn.execute(insert(Study), rows)


def bench_priors(db: Database, n_studies: int, lookups: int, rng: random.Random) -> list[float]:
    times = []
    with db.session() as s:
        for sid in rng.sample(range(1, n_studies + 1), min(lookups, n_studies)):
            t0 = time.perf_counter()
            study = s.get(Study, sid)
            assert study is not None
            nearest_prior(s, study)
            times.append((time.perf_counter() - t0) * 1000)
            s.expunge_all()
    return times


def make_dicom_files(folder: Path, n_files: int) -> list[Path]:
    sources = [pydicom.dcmread(str(get_testdata_file(n))) for n in ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm")]
    paths = []
    study_uid = series_uid = ""
    for k in range(n_files):
        if k % 50 == 0:
            study_uid, series_uid = generate_uid(), generate_uid()
        ds = sources[k % len(sources)]
        ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), study_uid, series_uid
        ds.PatientID = f"BENCH{k // 200:04d}"
        ds.InstanceNumber = k
        p = folder / f"im{k:05d}.dcm"
        ds.save_as(p, enforce_file_format=False)
        paths.append(p)
    return paths


def run_priors(root: Path, args: argparse.Namespace, rng: random.Random) -> None:
    """Build a synthetic timeline and time nearest-prior lookups on it."""
    db = Database(f"sqlite:///{root / 'timeline.db'}")
    db.upgrade()
    t0 = time.perf_counter()
    build_timeline(db, args.studies, args.per_patient, rng)
    print(f"built {args.studies:,} studies for {args.studies // args.per_patient:,} patients in "
          f"{time.perf_counter() - t0:.1f} s")
    times = bench_priors(db, args.studies, args.lookups, rng)
    q = statistics.quantiles(times, n=100)
    print(f"prior lookup over {len(times)} random studies: median {statistics.median(times):.3f} ms, "
          f"p95 {q[94]:.3f} ms, max {max(times):.3f} ms (goal: median < 5 ms)")
    db.dispose()


def run_ingest(root: Path, files: list[Path], run: int) -> float:
    """Ingest ``files`` into a fresh SQLite timeline; returns files per second."""
    settings = Settings(data_dir=root / f"ingest{run}")
    db = Database(f"sqlite:///{root / f'ingest{run}.db'}")
    db.upgrade()
    t0 = time.perf_counter()
    report = ingest_paths(db, files, settings)
    dt = time.perf_counter() - t0
    print(f"ingested {report.counts} from {len(files)} DICOM files in {dt:.2f} s: "
          f"{len(files) / dt:.0f} files/s (goal: >= 500 files/s, headers only)")
    db.dispose()
    return len(files) / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--studies", type=int, default=1_000_000)
    ap.add_argument("--per-patient", type=int, default=20)
    ap.add_argument("--lookups", type=int, default=1000)
    ap.add_argument("--dicom-files", type=int, default=2000)
    ap.add_argument("--only", choices=("priors", "ingest"), default=None, help="run just one part")
    ap.add_argument("--repeat", type=int, default=1, help="ingest runs (each into a fresh database)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="mimir-bench-") as tmp:
        root = Path(tmp)
        if args.only != "ingest":
            run_priors(root, args, rng)
        if args.only != "priors":
            folder = root / "dicom"
            folder.mkdir()
            files = make_dicom_files(folder, args.dicom_files)
            rates = [run_ingest(root, files, k) for k in range(args.repeat)]
            if len(rates) > 1:
                print(f"ingest over {len(rates)} runs: median {statistics.median(rates):.0f} files/s")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
