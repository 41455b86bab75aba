"""The id map beside the FAISS files: one row per vector, plus the index manifest (SQLite).

Rows say which study (and image) a vector belongs to, with the columns filters need (patient,
modality, body part, laterality, date) and the embedder name and version that made it. Filters are
SQL over this table; their result (the allowed ids) becomes a FAISS ``IDSelector`` for the search.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    id INTEGER PRIMARY KEY,
    space TEXT NOT NULL,
    study_id INTEGER NOT NULL,
    patient_id INTEGER NOT NULL,
    image_id INTEGER,
    modality TEXT,
    body_part TEXT,
    laterality TEXT,
    study_date TEXT,
    digest TEXT NOT NULL,
    embedder TEXT NOT NULL,
    embedder_version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_vectors_space_patient ON vectors(space, patient_id, study_date);
CREATE INDEX IF NOT EXISTS ix_vectors_study ON vectors(study_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class VectorRow:
    """One vector's id-map row."""

    id: int
    space: str
    study_id: int
    patient_id: int
    image_id: int | None
    modality: str | None
    body_part: str | None
    laterality: str | None
    study_date: date | None
    digest: str
    embedder: str
    embedder_version: str


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside the search; None means no restriction."""

    patient_id: int | None = None
    exclude_patient_id: int | None = None
    modality: str | None = None
    body_part: str | None = None
    laterality: str | None = None
    date_from: date | None = None
    before: date | None = None
    exclude_study_ids: tuple[int, ...] = ()

    def where(self) -> tuple[str, list[Any]]:
        """SQL conditions and parameters for these filters."""
        conds: list[str] = []
        params: list[Any] = []
        simple = (("patient_id = ?", self.patient_id), ("patient_id != ?", self.exclude_patient_id),
                  ("modality = ?", _up(self.modality)), ("body_part = ?", _up(self.body_part)),
                  ("laterality = ?", _up(self.laterality)))
        for cond, value in simple:
            if value is not None:
                conds.append(cond)
                params.append(value)
        if self.date_from is not None:
            conds.append("study_date >= ?")
            params.append(self.date_from.isoformat())
        if self.before is not None:
            conds.append("study_date IS NOT NULL AND study_date < ?")
            params.append(self.before.isoformat())
        if self.exclude_study_ids:
            conds.append(f"study_id NOT IN ({','.join('?' * len(self.exclude_study_ids))})")
            params.extend(self.exclude_study_ids)
        return " AND ".join(conds) or "1=1", params


def _up(v: str | None) -> str | None:
    return v.upper() if v else None


class IdMap:
    """The SQLite id map and manifest of one index folder."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Tools run in worker threads; every use of one IdMap is serialised by its RetrievalIndex's lock.
        self.conn = sqlite3.connect(str(path), check_same_thread=False)
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def clear(self) -> None:
        """Forget every vector and the manifest (before a full rebuild)."""
        with self.conn:
            self.conn.execute("DELETE FROM vectors")
            self.conn.execute("DELETE FROM meta")

    def next_id(self) -> int:
        """A fresh vector id (ids are never reused)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        top = self.conn.execute("SELECT COALESCE(MAX(id), -1) FROM vectors").fetchone()[0]
        return max(int(json.loads(row[0])) if row else 0, int(top) + 1)

    def add(self, rows: Iterable[VectorRow]) -> None:
        """Insert rows (not committed until :meth:`commit`)."""
        data = [(r.id, r.space, r.study_id, r.patient_id, r.image_id, r.modality, r.body_part, r.laterality,
                 r.study_date.isoformat() if r.study_date else None, r.digest, r.embedder, r.embedder_version)
                for r in rows]
        self.conn.executemany("INSERT INTO vectors VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", data)

    def remove_studies(self, study_ids: Sequence[int]) -> dict[str, np.ndarray]:
        """Delete the rows of ``study_ids``; returns the removed vector ids per space."""
        out: dict[str, list[int]] = {}
        for chunk in (study_ids[i:i + 500] for i in range(0, len(study_ids), 500)):
            marks = ",".join("?" * len(chunk))
            for vid, space in self.conn.execute(f"SELECT id, space FROM vectors WHERE study_id IN ({marks})", chunk):
                out.setdefault(space, []).append(vid)
            self.conn.execute(f"DELETE FROM vectors WHERE study_id IN ({marks})", chunk)
        return {k: np.array(v, dtype=np.int64) for k, v in out.items()}

    def study_digests(self) -> dict[int, str]:
        """Study id -> digest of the document that was embedded."""
        return dict(self.conn.execute("SELECT study_id, digest FROM vectors WHERE space = 'text'").fetchall())

    def allowed(self, space: str, filters: Filters) -> np.ndarray:
        """Vector ids of ``space`` that pass ``filters`` (the search's ID selector)."""
        cond, params = filters.where()
        rows = self.conn.execute(f"SELECT id FROM vectors WHERE space = ? AND {cond}", [space, *params])
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def rows(self, ids: Sequence[int]) -> dict[int, VectorRow]:
        """Id -> row for the given vector ids."""
        out: dict[int, VectorRow] = {}
        for chunk in (list(ids)[i:i + 500] for i in range(0, len(ids), 500)):
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(f"SELECT * FROM vectors WHERE id IN ({marks})", chunk):
                out[r[0]] = VectorRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                                      date.fromisoformat(r[8]) if r[8] else None, r[9], r[10], r[11])
        return out

    def vector_ids(self, space: str, study_id: int) -> np.ndarray:
        """The vector ids of one study in ``space``."""
        rows = self.conn.execute("SELECT id FROM vectors WHERE space = ? AND study_id = ?", (space, study_id))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def count(self, space: str | None = None) -> int:
        """Number of vectors (in ``space``)."""
        if space is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM vectors WHERE space = ?", (space,)).fetchone()[0])

    def get_meta(self, key: str) -> Any:
        """A manifest value (JSON-decoded) or None."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        """Set a manifest value (not committed until :meth:`commit`)."""
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, default=str)))

    def commit(self) -> None:
        """Make pending changes durable."""
        self.conn.commit()
