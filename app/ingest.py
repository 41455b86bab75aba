"""Uploads into the timeline through the same ingestion as ``mimir ingest``."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from mimir.app import uploads
from mimir.app.schemas import IngestResult
from mimir.app.service import ReviewService
from mimir.memory.ingest import ingest_paths


class _Upload(Protocol):
    filename: str | None

    @property
    def file(self): ...  # noqa: ANN201, D102


def _spool(files: list[_Upload], tmp: Path) -> list[uploads.IncomingFile]:
    out = []
    for i, f in enumerate(files):
        dest = tmp / f"upload_{i:04d}"
        with dest.open("wb") as fh:
            shutil.copyfileobj(f.file, fh)
        out.append(uploads.IncomingFile(name=f.filename or dest.name, path=dest))
    return out


def ingest_files(service: ReviewService, incoming: list[uploads.IncomingFile],
                 progress: Callable[[float, str], None] | None = None) -> IngestResult:
    """Validate every file, store them under the data dir, ingest; a rejection changes nothing."""
    with tempfile.TemporaryDirectory() as d:
        staged = uploads.stage(incoming, service.settings, Path(d))
        if sum(s.kind == "manifest" for s in staged) > 1:
            raise uploads.UploadRejected("more than one manifest in the upload; send one CSV or JSON manifest")
        dest, names = uploads.store(staged, service.settings)
    manifests = [p for p in dest.iterdir() if p.suffix in (".json", ".csv")]
    try:
        manifest = _repoint_manifest(manifests[0], names) if manifests else None
    except uploads.UploadRejected:
        shutil.rmtree(dest)
        raise
    images = sorted(p for p in dest.iterdir() if p.suffix not in (".json", ".csv"))
    report = ingest_paths(service.db, images, service.settings, manifest=manifest, progress=_adapt(progress))
    if report.counts["failed"] and not report.counts["ingested"] and not report.counts["skipped"]:
        shutil.rmtree(dest)
        reasons = "; ".join(f"{Path(i.path).name}: {i.reason}" for i in report.by_status("failed")[:3])
        raise uploads.UploadRejected(f"nothing could be ingested ({reasons})")
    items = [i.model_dump(exclude={"path"}) for i in report.items]
    return IngestResult(counts=report.counts, items=items)


def _repoint_manifest(path: Path, names: dict[str, Path]) -> Path:
    """Rewrite a manifest's ``path`` column to the stored files (matched by base name)."""
    if path.suffix == ".json":
        raw = json.loads(path.read_text())
        rows = raw.get("images", []) if isinstance(raw, dict) else raw
    else:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    for row in rows:
        stored = names.get(Path(str(row.get("path", ""))).name)
        if stored is None:
            raise uploads.UploadRejected(f"manifest row for '{row.get('path')}' names no uploaded file")
        row["path"] = str(stored)
    out = path.with_name("manifest.json")
    out.write_text(json.dumps(rows))
    return out


def _adapt(progress: Callable[[float, str], None] | None):  # noqa: ANN202
    return None if progress is None else _ProgressAdapter(progress)


class _ProgressAdapter:
    """Turns ingestion's per-file callback into a fraction for a progress bar."""

    def __init__(self, cb: Callable[[float, str], None]) -> None:
        self.cb = cb

    def __call__(self, done: int, total: int, *_: object) -> None:
        self.cb(done / max(total, 1), f"{done}/{total} files")


def ingest_uploads(service: ReviewService, files: list[_Upload]) -> IngestResult:
    """The API's upload path: spool to a temp dir, then :func:`ingest_files`."""
    with tempfile.TemporaryDirectory() as d:
        return ingest_files(service, _spool(files, Path(d)))

