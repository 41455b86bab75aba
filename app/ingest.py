"""Uploads into the timeline through the same ingestion as ``mimir ingest``.

Every upload gets its own folder under ``<data>/staging``; ingestion moves the files it ingests
into storage, and the folder is removed afterwards whatever happened, so a skipped, failed,
duplicate or interrupted upload leaves nothing behind (a folder left by a killed server is removed
at the next start, see :func:`mimir.app.review.ReviewService.recover`).
"""

from __future__ import annotations

import csv
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from mimir.app import uploads
from mimir.app.ids import display_name
from mimir.app.multipart import receive_files
from mimir.app.review import ReviewService
from mimir.app.schemas import IngestResult
from mimir.memory.ingest import IngestItem, ingest_paths

Progress = Callable[[float, str], None]


@contextmanager
def staging(service: ReviewService) -> Iterator[Path]:
    """A fresh folder under ``<data>/staging``, removed with everything left in it."""
    d = service.staging_dir / uuid.uuid4().hex
    d.mkdir(mode=0o700)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


async def ingest_request(service: ReviewService, request: Request) -> IngestResult:
    """The API's upload: stream the parts into staging, check them, ingest."""
    with staging(service) as d:
        incoming = await receive_files(request, d)
        return await run_in_threadpool(ingest_files, service, incoming, d)


def ingest_local(service: ReviewService, files: list[str], progress: Progress | None = None) -> IngestResult:
    """The review screen's upload: move Gradio's received files into staging, check them, ingest."""
    with staging(service) as d:
        incoming = []
        for n, f in enumerate(files):
            dest = d / f"incoming-{n:05d}"
            shutil.move(f, dest)
            incoming.append(uploads.IncomingFile(name=display_name(Path(f).name, f"file {n + 1}"), path=dest))
        return ingest_files(service, incoming, d, progress)


def ingest_files(service: ReviewService, incoming: list[uploads.IncomingFile], into: Path,
                 progress: Progress | None = None) -> IngestResult:
    """Check every file in ``into``, then ingest, moving what is ingested into storage."""
    staged = uploads.stage(incoming, service.settings, into)
    manifests = [s for s in staged if s.kind == "manifest"]
    if len(manifests) > 1:
        raise uploads.UploadRejected("more than one manifest in the upload; send one CSV or JSON manifest")
    images = [s for s in staged if s.kind != "manifest"]
    manifest = _repoint_manifest(manifests[0], images) if manifests else None
    report = ingest_paths(service.db, [s.path for s in images], service.settings, manifest=manifest,
                          progress=_adapt(progress), move=True)
    names = {str(s.path.resolve()): s.name for s in images}
    items = [_item(i, names, into) for i in report.items]
    if report.counts["failed"] and not report.counts["ingested"] and not report.counts["skipped"]:
        reasons = "; ".join(f"{i['name']}: {i['reason']}" for i in items[:3])
        raise uploads.UploadRejected(f"nothing could be ingested ({reasons})")
    return IngestResult(counts=report.counts, items=items)


def _item(item: IngestItem, names: dict[str, str], into: Path) -> dict[str, object]:
    """A report item without server paths: the upload's own name instead."""
    name = names.get(str(Path(item.path).resolve()), "file")
    out: dict[str, object] = {"name": name, **item.model_dump(exclude={"path"})}
    if item.reason:
        out["reason"] = item.reason.replace(item.path, name).replace(str(into), "upload")
    return out


def _rows(path: Path) -> list[dict[str, Any]]:
    try:
        if path.suffix == ".json":
            raw = json.loads(path.read_text())
            rows = raw.get("images", []) if isinstance(raw, dict) else raw
        else:
            with path.open(newline="") as f:
                rows = list(csv.DictReader(f))
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as e:
        raise uploads.UploadRejected(f"the manifest is not readable CSV/JSON: {e}") from e
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise uploads.UploadRejected("the manifest must be a list of rows (CSV, or JSON objects)")
    return rows


def _repoint_manifest(manifest: uploads.Staged, images: list[uploads.Staged]) -> Path:
    """Point each manifest row at its staged file (matched by base name); NIfTI rows become sidecars."""
    by_name = {s.name.split(":")[-1]: s for s in images}
    rows = _rows(manifest.path)
    for row in rows:
        staged = by_name.get(Path(str(row.get("path", ""))).name)
        if staged is None:
            raise uploads.UploadRejected(f"manifest row for '{display_name(str(row.get('path')), '?')}' "
                                         "names no uploaded file")
        row["path"] = str(staged.path.resolve())
        if staged.kind == "nifti":  # NIfTI files take their facts from a sidecar beside them
            staged.path.with_name(staged.path.name + ".json").write_text(json.dumps(row))
    out = manifest.path.with_name("manifest.json")
    out.write_text(json.dumps(rows))
    return out


def _adapt(progress: Progress | None):
    return None if progress is None else _ProgressAdapter(progress)


class _ProgressAdapter:
    """Turns ingestion's per-file callback into a fraction for a progress bar."""

    def __init__(self, cb: Progress) -> None:
        self.cb = cb

    def __call__(self, done: int, total: int, *_: object) -> None:
        self.cb(done / max(total, 1), f"{done}/{total} files")
