"""Opening the index for a process: load once, check on every use, update when the timeline moved.

The open index and the text model are kept per process (keyed by index folder and embedders) so a
question does not reload a model or re-read the files; every use still compares the timeline
fingerprint and updates the index first if the timeline changed.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mimir.tools.retrieval.documents import fingerprint
from mimir.tools.retrieval.embedders import MiniLMTextEmbedder, TextEmbedder, image_embedders
from mimir.tools.retrieval.index import RetrievalIndex

if TYPE_CHECKING:
    from mimir.settings import Settings

log = logging.getLogger(__name__)
_open: dict[tuple[str, str], RetrievalIndex] = {}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def default_text_embedder() -> TextEmbedder:
    """The shared all-MiniLM-L6-v2 embedder (loaded on first use)."""
    return MiniLMTextEmbedder()


def make_index(settings: Settings, text: TextEmbedder | None = None) -> RetrievalIndex:
    """A fresh (unloaded) index object for ``settings``' folder and configured embedders."""
    return RetrievalIndex(settings, text or default_text_embedder(), image_embedders(settings))


def open_index(settings: Settings, session: Session) -> RetrievalIndex:
    """The process's index for ``settings``, loaded or rebuilt, and current with the timeline."""
    key = (str(settings.index_dir.resolve()), settings.retrieval_image_embedder)
    with _lock:
        index = _open.get(key)
        if index is None:
            index = make_index(settings)
            _open[key] = index
            with index.lock:
                index.load_or_rebuild(session)
    with index.lock:
        if index.idmap.get_meta("fingerprint") != fingerprint(session):
            report = index.update(session)
            log.info("retrieval index updated: %s", report.summary())
        index.require_ready()
    return index


def forget_open_indexes() -> None:
    """Drop the process's open indexes (after files were changed by another process)."""
    for index in _open.values():
        index.close()
    _open.clear()
