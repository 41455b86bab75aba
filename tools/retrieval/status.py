"""What the index reports about itself: state, reason, sizes, embedders, fingerprint."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

#: ready: usable as written; stale: needs a rebuild or update (see reason); rebuilt/updated: fixed on load.
IndexState = Literal["missing", "stale", "ready", "rebuilt", "updated"]


class SpaceInfo(BaseModel):
    """One vector space (text, or one image embedder's)."""

    embedder: str
    version: str
    dim: int
    kind: str = Field(description="flat (exact), ivf or hnsw")
    vectors: int


class IndexStatus(BaseModel):
    """The index's state and, when it was not answered from as written, why."""

    state: IndexState
    reason: str | None = Field(default=None, description="Why the index was rebuilt or updated, or is missing")
    path: str
    entries: int = Field(default=0, description="Studies in the index (text vectors)")
    spaces: dict[str, SpaceInfo] = Field(default_factory=dict)
    fingerprint: dict[str, list[int]] = Field(default_factory=dict)
    written_at: str | None = None
    skipped: dict[str, int] = Field(default_factory=dict,
                                    description="Images left out of the image spaces by the last build or update: reason -> count")

    @property
    def stale(self) -> bool:
        """True when the index on disk cannot be (or could not be) used as written."""
        return self.state != "ready"


class UpdateReport(BaseModel):
    """Study ids an update added, re-embedded and removed."""

    added: list[int] = Field(default_factory=list)
    changed: list[int] = Field(default_factory=list)
    removed: list[int] = Field(default_factory=list)

    def summary(self) -> str:
        """``added 2, changed 0, removed 1 studies``."""
        return f"added {len(self.added)}, changed {len(self.changed)}, removed {len(self.removed)} studies"
