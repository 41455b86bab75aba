"""Ingestion: DICOM, NIfTI and PNG/JPEG files into the timeline, reported file by file."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from mimir.memory.db import Database
from mimir.memory.hashing import file_hash
from mimir.memory.ingest.dicom import read_dicom_file
from mimir.memory.ingest.images import is_raster, read_raster
from mimir.memory.ingest.ingest_report import IngestItem, IngestReport
from mimir.memory.ingest.nifti import is_nifti, read_nifti
from mimir.memory.ingest.record_writer import storage_target, unreferenced, write_study
from mimir.memory.ingest.records import BadFile, ImageRecord, SkipFile
from mimir.memory.ingest.sidecar import ImageMeta, load_manifest
from mimir.memory.models import Image
from mimir.settings import Settings

__all__ = ["IngestItem", "IngestReport", "expand_paths", "ingest_paths"]

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
_SIDECAR_SKIP = (".json",)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and every file under folders named (sorted, hidden files left out)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(f for f in sorted(p.rglob("*")) if f.is_file() and not f.name.startswith("."))
        else:
            out.append(p)
    return out


def _is_sidecar(path: Path) -> bool:
    if path.suffix.lower() not in _SIDECAR_SKIP:
        return False
    base = path.name[: -len(".json")]
    return (path.parent / base).exists() or any(
        (path.parent / (base + s)).exists() for s in (".nii", ".nii.gz", ".png", ".jpg", ".jpeg")
    )


def _read_one(path: Path, manifest: dict[str, ImageMeta]) -> ImageRecord:
    if not path.exists():
        raise BadFile("no such file")
    if _is_sidecar(path):
        raise SkipFile("metadata sidecar of an image file")
    if is_nifti(path):
        return read_nifti(path, file_hash(path))
    if is_raster(path):
        return read_raster(path, file_hash(path), manifest.get(str(path.resolve())))
    return read_dicom_file(path)


def _known_hashes(db: Database, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    with db.session() as s:
        for i in range(0, len(hashes), 500):
            found.update(s.scalars(select(Image.content_hash).where(Image.content_hash.in_(hashes[i : i + 500]))))
    return found


def _read_all(
    files: list[Path], manifest: dict[str, ImageMeta], progress: Progress | None
) -> Iterator[tuple[int, ImageRecord | IngestItem]]:
    for n, path in enumerate(files):
        try:
            yield n, _read_one(path, manifest)
        except SkipFile as e:
            yield n, IngestItem(path=str(path), status="skipped", reason=str(e))
        except BadFile as e:
            yield n, IngestItem(path=str(path), status="failed", reason=str(e))
        except (OSError, ValueError) as e:
            yield n, IngestItem(path=str(path), status="failed", reason=f"{type(e).__name__}: {e}")
        if progress:
            progress(n + 1, len(files), str(path))


def _store(db: Database, groups: dict[str, list[tuple[int, ImageRecord]]], settings: Settings, copy: bool,
           items: dict[int, IngestItem], move: bool = False) -> None:
    for study_uid, members in groups.items():
        recs = [r for _, r in members]
        try:
            with db.session() as s:
                ids = write_study(s, recs, settings.storage_dir, copy, move=move)
        except (SQLAlchemyError, OSError) as e:
            log.warning("study %s rolled back: %s", study_uid, e)
            if move:  # the files moved for this study are referenced by nothing now
                with db.session() as s:
                    for p in unreferenced(s, [storage_target(r, settings.storage_dir) for r in recs]):
                        p.unlink(missing_ok=True)
            for n, r in members:
                items[n] = IngestItem(path=r.path, status="failed", file_format=r.file_format, study_uid=study_uid,
                                      reason=f"study rolled back: {type(e).__name__}: {e}")
            continue
        for (n, r), image_id in zip(members, ids, strict=True):
            items[n] = IngestItem(path=r.path, status="ingested", file_format=r.file_format,
                                  image_id=image_id, study_uid=study_uid)


def ingest_paths(
    db: Database, paths: Iterable[str | Path], settings: Settings, manifest: str | Path | None = None,
    progress: Progress | None = None, *, copy: bool = False, move: bool = False,
) -> IngestReport:
    """Ingest files and folders; one report item per file. Re-running changes nothing.

    Files stay where they are, or are copied (``copy``) or moved (``move``: uploads leaving their
    staging folder) into storage under their content hash; skipped and failed files are not touched.
    """
    files = expand_paths(paths)
    rows = load_manifest(Path(manifest)) if manifest else {}
    items: dict[int, IngestItem] = {}
    records: list[tuple[int, ImageRecord]] = []
    for n, got in _read_all(files, rows, progress):
        if isinstance(got, IngestItem):
            items[n] = got
        else:
            records.append((n, got))
    known = _known_hashes(db, [r.content_hash for _, r in records])
    seen: set[str] = set()
    groups: dict[str, list[tuple[int, ImageRecord]]] = {}
    for n, r in records:
        if r.content_hash in known or r.content_hash in seen:
            items[n] = IngestItem(path=r.path, status="skipped", file_format=r.file_format,
                                  study_uid=r.study_uid, reason="already ingested (same content hash)")
            continue
        seen.add(r.content_hash)
        groups.setdefault(r.study_uid, []).append((n, r))
    if copy or move:
        settings.storage_dir.mkdir(parents=True, exist_ok=True)
    _store(db, groups, settings, copy, items, move)
    return IngestReport(items=[items[n] for n in sorted(items)])
