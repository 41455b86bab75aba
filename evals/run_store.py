"""The durable run store: ``items.jsonl`` (flush + fsync per line) and ``items.sqlite`` (one row per key, WAL).

The JSONL file is the record of truth: every finished item is appended at once, so a run killed
with ``kill -9`` loses at most the items in flight. Reading tolerates a torn last line (it is cut
off before appending again) and keeps the last record per item key, so no item counts twice.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mimir.evals.items import ItemRecord

log = logging.getLogger(__name__)
JSONL = "items.jsonl"
SQLITE = "items.sqlite"
MANIFEST = "run.json"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
  key TEXT PRIMARY KEY, file TEXT, idx INTEGER, subset TEXT, ability TEXT, source TEXT,
  status TEXT, score REAL, letter TEXT, answer TEXT, evidence TEXT, timings TEXT,
  latency_s REAL, finished_at TEXT, record TEXT)
"""


class RunStoreError(RuntimeError):
    """The run folder cannot be used as asked (exists without --resume, or belongs to another runner)."""


def _repair_tail(path: Path) -> int:
    """Cut a torn last line (no trailing newline) off the JSONL file; return the bytes removed."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with path.open("r+b") as f:
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    log.warning("Dropped a torn last line (%d bytes) from %s", len(data) - keep, path)
    return len(data) - keep


def read_records(run_dir: Path) -> dict[str, ItemRecord]:
    """Records of a run folder, the last one per key; a torn last line is skipped."""
    path = Path(run_dir) / JSONL
    out: dict[str, ItemRecord] = {}
    if not path.exists():
        return out
    lines = path.read_text().split("\n")
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = ItemRecord.model_validate_json(line)
        except ValueError:
            if n == len(lines) - 1:
                continue  # torn last line of a killed run
            raise
        out[rec.key] = rec
    return out


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The ``run.json`` manifest of a run folder."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise RunStoreError(f"{run_dir} is not a run folder: no {MANIFEST}")
    return json.loads(path.read_text())


class RunStore:
    """Append-only store of one run's finished items."""

    def __init__(self, run_dir: Path, manifest: dict[str, Any], resume: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self._lock = threading.Lock()
        self._open(manifest, resume)
        self._jsonl = (self.run_dir / JSONL).open("a", encoding="utf-8")
        self._db = sqlite3.connect(self.run_dir / SQLITE, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # the fsynced JSONL is the record of truth
        self._db.execute(_SCHEMA)
        self.done: dict[str, ItemRecord] = read_records(self.run_dir)
        self._db.executemany(self._upsert_sql(), [self._row(r) for r in self.done.values()])
        self._db.commit()

    def _open(self, manifest: dict[str, Any], resume: bool) -> None:
        existing = (self.run_dir / MANIFEST).is_file()
        if existing and not resume:
            raise RunStoreError(f"{self.run_dir} already holds a run; pass --resume to continue it")
        if existing:
            old = read_manifest(self.run_dir)
            if old.get("runner") != manifest.get("runner"):
                raise RunStoreError(f"{self.run_dir} is a run of runner {old.get('runner')!r}, "
                                    f"not {manifest.get('runner')!r}")
            manifest = {**old, "resumed": [*old.get("resumed", []), _now()]}
        else:
            manifest = {**manifest, "started": _now()}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _repair_tail(self.run_dir / JSONL)
        (self.run_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
        self.manifest = manifest

    @staticmethod
    def _upsert_sql() -> str:
        return "INSERT OR REPLACE INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

    @staticmethod
    def _row(r: ItemRecord) -> tuple[Any, ...]:
        return (r.key, r.file, r.index, r.subset, r.ability, r.source, r.status, r.score, r.letter,
                r.text, json.dumps(r.evidence), json.dumps(r.timings), r.latency_s, r.finished_at,
                r.model_dump_json())

    def append(self, record: ItemRecord) -> None:
        """Write one finished item durably (JSONL line fsynced, then the SQLite row)."""
        if not record.finished_at:
            record.finished_at = _now()
        with self._lock:
            self._jsonl.write(record.model_dump_json() + "\n")
            self._jsonl.flush()
            os.fsync(self._jsonl.fileno())
            self._db.execute(self._upsert_sql(), self._row(record))
            self._db.commit()
            self.done[record.key] = record

    def close(self) -> None:
        """Close the files."""
        with self._lock:
            self._jsonl.close()
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
