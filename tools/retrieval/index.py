"""The retrieval index over the timeline: build, update, persist, check, search.

One text vector per study (``space = "text"``) and, when an image embedder is configured, one vector
per series' representative image (``space = "image:<embedder>"``). Each space is one FAISS file in
``settings.index_dir``; ``idmap.sqlite`` beside them maps vector ids to studies and holds the
manifest: embedder name and version per space, each file's SHA-256, and the timeline fingerprint.

:meth:`RetrievalIndex.load_or_rebuild` never answers from an index it cannot trust: a missing or
corrupt file or an embedder whose version changed triggers a rebuild; a timeline that moved on
triggers an update (new and changed studies embedded, deleted ones removed). The status says why.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np
from sqlalchemy.orm import Session

from mimir.tools.framework.errors import ToolCannotHandle
from mimir.tools.retrieval import ann
from mimir.tools.retrieval.documents import ImageRef, StudyDoc, describe_change, fingerprint, study_documents
from mimir.tools.retrieval.embedders import ImageEmbedder, TextEmbedder, embedder_for
from mimir.tools.retrieval.id_map import Filters, IdMap, VectorRow
from mimir.tools.retrieval.status import IndexStatus, SpaceInfo, UpdateReport

if TYPE_CHECKING:
    from mimir.settings import Settings

log = logging.getLogger(__name__)
TEXT = "text"
FORMAT = 1
#: IVF and HNSW do not delete in place here; removed vectors are masked until they exceed this share, then compacted.
COMPACT_FRACTION = 0.2


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _space_file(space: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", space) + ".faiss"


def _reason(text: str) -> str:
    """A skip reason without the file's own name, so that like reasons count together."""
    return re.sub(r"\b[\w.-]+\.(?:nii\.gz|nii|dcm|png|jpe?g)\b", "the image", text)


def _embed_images(
    embedder: ImageEmbedder, refs: list[tuple[StudyDoc, ImageRef]], skipped: dict[str, int]
) -> tuple[np.ndarray, list[tuple[StudyDoc, ImageRef]]]:
    """Vectors of the images the embedder can read; the others are counted in ``skipped`` by reason."""
    refuses = getattr(embedder, "refuses", None)
    usable = []
    for pair in refs:
        reason = refuses(Path(pair[1].path)) if refuses is not None else None
        if reason is None:
            usable.append(pair)
        else:
            skipped[_reason(reason)] = skipped.get(_reason(reason), 0) + 1
    if not usable:
        return np.zeros((0, 0), np.float32), []
    try:
        return embedder.embed([Path(ref.path) for _, ref in usable]), usable
    except ToolCannotHandle:
        kept, vecs = [], []
        for pair in usable:
            try:
                vecs.append(embedder.embed([Path(pair[1].path)])[0])
                kept.append(pair)
            except ToolCannotHandle as e:
                log.info("image %s not embedded by %s: %s", pair[1].image_id, embedder.name, e)
                skipped[_reason(str(e))] = skipped.get(_reason(str(e)), 0) + 1
        return (np.stack(vecs) if vecs else np.zeros((0, 0), np.float32)), kept


class SearchHit:
    """A search result: the vector's id-map row and its cosine similarity."""

    __slots__ = ("row", "score")

    def __init__(self, row: VectorRow, score: float) -> None:
        self.row, self.score = row, score


class RetrievalIndex:
    """The FAISS spaces and id map of one index folder."""

    def __init__(self, settings: Settings, text: TextEmbedder, images: Sequence[ImageEmbedder] = ()) -> None:
        self.dir = settings.index_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.text, self.images = text, list(images)
        self.idmap = IdMap(self.dir / "idmap.sqlite")
        self.spaces: dict[str, faiss.Index] = {}
        self.tombstones: dict[str, int] = {}
        self.lock = threading.RLock()
        self._gpu: dict[str, faiss.Index] = {}
        self.status = IndexStatus(state="missing", reason="not loaded yet", path=str(self.dir))
        #: Images the last build or update left out of the image spaces: reason -> count.
        self.skipped: dict[str, int] = {}

    # -- checks -----------------------------------------------------------------------------------
    def expected_embedders(self) -> dict[str, tuple[str, str]]:
        """Space -> (embedder name, version) this configuration would write."""
        out = {TEXT: (self.text.name, self.text.version)}
        out.update({f"image:{e.name}": (e.name, e.version) for e in self.images})
        return out

    def _file_problem(self) -> str | None:
        """Why the files on disk cannot be used (None when they can); loads them when they can."""
        manifest = self.idmap.get_meta("spaces")
        if not manifest or self.idmap.get_meta("format") != FORMAT:
            return "no index has been built in this folder"
        for space, (name, version) in self.expected_embedders().items():
            info = manifest.get(space)
            if info is None and space != TEXT:
                continue  # image space with nothing embedded yet is added on update
            if info is None or (info["embedder"], info["version"]) != (name, version):
                was = f"{info['embedder']}@{info['version']}" if info else "none"
                return f"embedder of '{space}' changed: index has {was}, configured {name}@{version}"
        unknown = sorted(set(manifest) - set(self.expected_embedders()))
        if unknown:
            return f"embedder of '{unknown[0]}' is no longer configured"
        self.spaces.clear()
        for space, info in manifest.items():
            path = self.dir / info["file"]
            if not path.is_file():
                return f"index file {path.name} is missing"
            if _sha256(path) != info["sha256"]:
                return f"index file {path.name} does not match its checksum (corrupt or changed)"
            try:
                index = faiss.read_index(str(path))
            except RuntimeError as e:
                return f"index file {path.name} cannot be read by FAISS: {e}"
            live = self.idmap.count(space)
            if index.ntotal != live + int(info.get("tombstones", 0)):
                return f"index file {path.name} holds {index.ntotal} vectors, id map expects {live}"
            self.spaces[space] = index
            self.tombstones[space] = int(info.get("tombstones", 0))
        return None

    def check(self, session: Session) -> tuple[str | None, bool]:
        """(reason the index cannot answer as is, whether a full rebuild is needed); (None, False) if fine."""
        problem = self._file_problem()
        if problem:
            return problem, True
        old, new = self.idmap.get_meta("fingerprint") or {}, fingerprint(session)
        if old != new:
            return f"timeline changed since the index was written: {describe_change(old, new)}", False
        return None, False

    def inspect(self, session: Session) -> IndexStatus:
        """The index's state without changing it: ready, stale (with the reason) or missing."""
        reason, full = self.check(session)
        if reason is None:
            return self._status("ready", None)
        never_built = not self.idmap.get_meta("spaces")
        return self._status("missing" if never_built else "stale", reason)

    def load_or_rebuild(self, session: Session) -> IndexStatus:
        """Load the index, or rebuild/update it when it cannot be trusted; the status says why."""
        reason, full = self.check(session)
        if reason is None:
            self.status = self._status("ready", None)
        elif full:
            log.warning("retrieval index rebuilt: %s", reason)
            self.build(session)
            self.status = self._status("rebuilt", reason)
        else:
            log.info("retrieval index updated: %s", reason)
            report = self.update(session)
            self.status = self._status("updated", f"{reason}; {report.summary()}")
        return self.status

    # -- writing ----------------------------------------------------------------------------------
    def build(self, session: Session) -> IndexStatus:
        """Embed every study from scratch and write the index."""
        self.idmap.clear()
        self.spaces.clear()
        self.tombstones.clear()
        for path in self.dir.glob("*.faiss"):
            path.unlink()
        docs = study_documents(session)
        self.skipped = {}
        self._add_docs(docs, start_id=0)
        self.save(session)
        self.status = self._status("ready", None)
        return self.status

    def update(self, session: Session) -> UpdateReport:
        """Bring the index up to the timeline: add new studies, re-embed changed ones, drop deleted ones."""
        current = {d.study_id: d for d in study_documents(session)}
        indexed = self.idmap.study_digests()
        removed = sorted(set(indexed) - set(current))
        changed = sorted(s for s in set(indexed) & set(current) if indexed[s] != current[s].digest)
        added = sorted(set(current) - set(indexed))
        self.skipped = {}
        self.remove_studies(removed + changed)
        self._add_docs([current[s] for s in added + changed], start_id=self.idmap.next_id())
        self.save(session)
        return UpdateReport(added=added, changed=changed, removed=removed)

    def remove_studies(self, study_ids: Sequence[int]) -> None:
        """Remove the vectors of ``study_ids`` (flat: from FAISS; IVF, HNSW: masked, compacted later)."""
        self._gpu.clear()
        for space, ids in self.idmap.remove_studies(list(study_ids)).items():
            index = self.spaces.get(space)
            if index is None or ids.size == 0:
                continue
            if ann.kind_of(index) == "flat":
                index.remove_ids(ids)  # type: ignore[arg-type, unused-ignore]  # the Python wrapper takes an id array
            else:
                self.tombstones[space] = self.tombstones.get(space, 0) + int(ids.size)

    def _add_docs(self, docs: list[StudyDoc], start_id: int) -> None:
        next_id = start_id
        if docs:
            vecs = self.text.embed([d.text for d in docs])
            rows = [self._row(next_id + i, TEXT, d, None, self.text) for i, d in enumerate(docs)]
            self._add(TEXT, vecs, rows)
            next_id += len(docs)
        for embedder in self.images:
            refs = [(d, ref) for d in docs for ref in d.images
                    if embedder_for([embedder], ref.modality or d.modality) is embedder]
            missing = [ref for _, ref in refs if not Path(ref.path).exists()]
            if missing:
                self.skipped["the image file is missing"] = self.skipped.get("the image file is missing", 0) + len(missing)
            vecs, refs = _embed_images(embedder, [(d, ref) for d, ref in refs if Path(ref.path).exists()], self.skipped)
            if not refs:
                continue
            space = f"image:{embedder.name}"
            rows = [self._row(next_id + i, space, d, ref.image_id, embedder, ref.laterality)
                    for i, (d, ref) in enumerate(refs)]
            self._add(space, vecs, rows)
            next_id += len(refs)
        self.idmap.set_meta("next_id", next_id)

    @staticmethod
    def _row(vid: int, space: str, d: StudyDoc, image_id: int | None,
             embedder: TextEmbedder | ImageEmbedder, laterality: str | None = None) -> VectorRow:
        return VectorRow(vid, space, d.study_id, d.patient_id, image_id, d.modality, d.body_part,
                         (laterality or d.laterality or "").upper() or None, d.study_date, d.digest,
                         embedder.name, embedder.version)

    def _add(self, space: str, vecs: np.ndarray, rows: list[VectorRow]) -> None:
        self._gpu.clear()
        if space not in self.spaces:
            self.spaces[space] = ann.make_index(vecs.shape[1], ann.choose_kind(len(rows)), len(rows))
        ann.add(self.spaces[space], ann.normalise(vecs), np.array([r.id for r in rows], dtype=np.int64))
        self.idmap.add(rows)

    def save(self, session: Session) -> None:
        """Write every space (atomically, file then manifest) with its checksum and the fingerprint."""
        names = {TEXT: (self.text.name, self.text.version)} | {
            f"image:{e.name}": (e.name, e.version) for e in self.images}
        manifest = {}
        for space in list(self.spaces):
            self._compact_or_rekind(space)
            path = self.dir / _space_file(space)
            tmp = path.with_suffix(".faiss.tmp")
            faiss.write_index(self.spaces[space], str(tmp))
            os.replace(tmp, path)
            name, version = names.get(space, ("unknown", "unknown"))
            manifest[space] = {"file": path.name, "embedder": name, "version": version, "sha256": _sha256(path),
                               "dim": self.spaces[space].d, "kind": ann.kind_of(self.spaces[space]),
                               "tombstones": self.tombstones.get(space, 0)}
        self.idmap.set_meta("spaces", manifest)
        self.idmap.set_meta("fingerprint", fingerprint(session))
        self.idmap.set_meta("format", FORMAT)
        self.idmap.set_meta("written_at", datetime.now(UTC).isoformat())
        self.idmap.commit()

    def _compact_or_rekind(self, space: str) -> None:
        """Re-create a space's index when masked vectors pile up or its size calls for another kind."""
        index = self.spaces[space]
        live_ids = self.idmap.allowed(space, Filters())
        masked = self.tombstones.get(space, 0)
        if ann.suits(index, live_ids.size) and masked <= COMPACT_FRACTION * max(1, index.ntotal):
            return
        vecs = index.reconstruct_batch(live_ids) if live_ids.size else np.zeros((0, index.d), np.float32)
        fresh = ann.make_index(index.d, ann.choose_kind(live_ids.size), live_ids.size)
        if live_ids.size:
            ann.add(fresh, vecs, live_ids)
        self.spaces[space], self.tombstones[space] = fresh, 0

    # -- reading ----------------------------------------------------------------------------------
    def search(self, space: str, query: np.ndarray, k: int, filters: Filters) -> list[SearchHit]:
        """Top-``k`` vectors of ``space`` similar to ``query`` among those passing ``filters``."""
        with self.lock:
            index = self.spaces.get(space)
            if index is None:
                return []
            allowed = self.idmap.allowed(space, filters)
            k = min(k, max(1, allowed.size))
            if allowed.size == index.ntotal:  # nothing filtered out: a GPU copy may answer (flat only)
                if space not in self._gpu:
                    self._gpu[space] = ann.use_gpu_if_available(index)
                scores, ids = ann.search(self._gpu[space], query.reshape(1, -1), k)
            else:
                scores, ids = ann.search(index, query.reshape(1, -1), k, allowed)
            return self._hits(ids, scores)

    def _hits(self, ids: np.ndarray, scores: np.ndarray) -> list[SearchHit]:
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        rows = self.idmap.rows([i for i, _ in found])
        return [SearchHit(rows[i], s) for i, s in found if i in rows]

    def study_vector(self, space: str, study_id: int) -> np.ndarray | None:
        """The mean stored vector of a study in ``space`` (None when it has none)."""
        with self.lock:
            index, ids = self.spaces.get(space), self.idmap.vector_ids(space, study_id)
            if index is None or ids.size == 0:
                return None
            return ann.normalise(index.reconstruct_batch(ids).mean(axis=0, keepdims=True))[0]

    def require_ready(self) -> None:
        """Refuse to answer from an index that is not loaded and current."""
        if self.status.state not in ("ready", "rebuilt", "updated"):
            raise ToolCannotHandle(f"the retrieval index is not usable: {self.status.reason}")

    def _status(self, state: str, reason: str | None) -> IndexStatus:
        manifest = self.idmap.get_meta("spaces") or {}
        spaces = {s: SpaceInfo(vectors=self.idmap.count(s), **{k: info[k] for k in ("embedder", "version", "dim", "kind")})
                  for s, info in manifest.items()}
        return IndexStatus(
            state=state, reason=reason, path=str(self.dir), entries=spaces[TEXT].vectors if TEXT in spaces else 0,
            spaces=spaces, fingerprint=self.idmap.get_meta("fingerprint") or {},
            written_at=self.idmap.get_meta("written_at"), skipped=dict(self.skipped),
        )

    def close(self) -> None:
        """Close the id map."""
        self.idmap.close()
