"""The tool-result cache: keys from content hashes, ToolRuns and Findings in the timeline.

A cache key is the SHA-256 of the tool's name and version, its canonical JSON arguments and the
content hashes of the case images those arguments reference (fields named ``image_index`` or
``image_indices``, at any depth). With a timeline session the cache is the ``tool_runs`` table, so
the same image is never segmented twice, across processes; without one it is an in-memory store
that lives on the :class:`~mimir.tools.framework.context.ToolContext`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from mimir.memory.hashing import file_hash

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mimir.tools.framework.context import ToolContext

log = logging.getLogger(__name__)
INDEX_FIELDS = ("image_index", "image_indices")


@dataclass
class StoredRun:
    """A finished tool run as the cache keeps it."""

    id: int
    tool: str
    version: str
    cache_key: str
    arguments: dict[str, Any]
    output: dict[str, Any]
    artifacts: list[str]
    duration_s: float
    input_hashes: list[str] = field(default_factory=list)


class ToolRunStore(Protocol):
    """Where finished runs are looked up and recorded."""

    def lookup(self, cache_key: str) -> StoredRun | None:
        """The ok run with this key, if any."""

    def get(self, run_id: int) -> StoredRun | None:
        """The run with this id, if any."""

    def record(self, run: StoredRun, patient_id: int | None) -> int:
        """Store a finished run; returns its id."""


class MemoryStore:
    """Runs kept in memory, for tools used outside a timeline."""

    def __init__(self) -> None:
        self._by_id: dict[int, StoredRun] = {}
        self._by_key: dict[str, int] = {}

    def lookup(self, cache_key: str) -> StoredRun | None:
        """The run with this key, if any."""
        run_id = self._by_key.get(cache_key)
        return self._by_id[run_id] if run_id is not None else None

    def get(self, run_id: int) -> StoredRun | None:
        """The run with this id, if any."""
        return self._by_id.get(run_id)

    def record(self, run: StoredRun, patient_id: int | None) -> int:
        """Store a run under the next id."""
        run.id = len(self._by_id) + 1
        self._by_id[run.id] = run
        self._by_key[run.cache_key] = run.id
        return run.id


class SessionStore:
    """Runs kept as ``ToolRun`` rows in the timeline."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lookup(self, cache_key: str) -> StoredRun | None:
        """The ok ToolRun with this key, if any."""
        from sqlalchemy import select

        from mimir.memory.models import ToolRun

        row = self.session.scalars(
            select(ToolRun).where(ToolRun.cache_key == cache_key, ToolRun.status == "ok")
        ).first()
        return _from_row(row) if row is not None else None

    def get(self, run_id: int) -> StoredRun | None:
        """The ToolRun with this id, if any."""
        from mimir.memory.models import ToolRun

        row = self.session.get(ToolRun, run_id)
        return _from_row(row) if row is not None else None

    def record(self, run: StoredRun, patient_id: int | None) -> int:
        """Insert a ToolRun row and flush to get its id."""
        from mimir.memory.models import ToolRun

        row = ToolRun(
            tool=run.tool, version=run.version, cache_key=run.cache_key, input_hashes=run.input_hashes,
            arguments=run.arguments, output=run.output, artifacts=run.artifacts,
            duration_s=run.duration_s, status="ok", patient_id=patient_id,
        )
        from sqlalchemy.exc import IntegrityError

        try:
            with self.session.begin_nested():  # a concurrent run may have recorded the same key
                self.session.add(row)
        except IntegrityError:
            existing = self.lookup(run.cache_key)
            if existing is None:
                raise
            run.id = existing.id
            return existing.id
        run.id = row.id
        return row.id


def _from_row(row: Any) -> StoredRun:
    return StoredRun(
        id=row.id, tool=row.tool, version=row.version, cache_key=row.cache_key,
        arguments=row.arguments or {}, output=row.output or {}, artifacts=list(row.artifacts or []),
        duration_s=row.duration_s or 0.0, input_hashes=list(row.input_hashes or []),
    )


def store_for(ctx: ToolContext) -> ToolRunStore:
    """The run store of this context: the timeline session, else an in-memory store kept on ctx."""
    if ctx.session is not None:
        return SessionStore(ctx.session)
    if ctx.run_store is None:
        ctx.run_store = MemoryStore()
    return ctx.run_store


class InputHasher:
    """Content hashes of image files, remembered per (path, size, mtime)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int, int], str] = {}

    def hash(self, path: str | Path) -> str:
        """SHA-256 of a file, or of a folder's files in name order (a DICOM series)."""
        p = Path(path)
        if p.is_dir():
            h = hashlib.sha256()
            for child in sorted(c for c in p.rglob("*") if c.is_file()):
                h.update(self.hash(child).encode())
            return h.hexdigest()
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in self._seen:
            self._seen[key] = file_hash(p)
        return self._seen[key]


def referenced_indices(value: Any) -> list[int]:
    """Image indices referenced by ``image_index`` / ``image_indices`` fields, at any depth."""
    found: list[int] = []
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "image_index" and isinstance(v, int):
                found.append(v)
            elif k == "image_indices" and isinstance(v, list):
                found.extend(i for i in v if isinstance(i, int))
            else:
                found.extend(referenced_indices(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(referenced_indices(v))
    return found


def cache_key(
    tool: str, version: str, arguments: dict[str, Any], input_hashes: list[str], model_state: str | None = None,
) -> str:
    """SHA-256 over tool, version, canonical JSON arguments, input content hashes and model state.

    The model state joins only for a tool that declares one (:data:`mimir.tools.framework.registry.ModelState`).
    """
    fields: dict[str, Any] = {"tool": tool, "version": version, "arguments": arguments, "inputs": input_hashes}
    if model_state is not None:
        fields["models"] = model_state
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
