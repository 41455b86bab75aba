"""What an ingestion did, file by file."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

IngestStatus = Literal["ingested", "skipped", "failed"]


class IngestItem(BaseModel):
    """The outcome for one file."""

    path: str
    status: IngestStatus
    reason: str = ""
    file_format: str | None = None
    image_id: int | None = None
    study_uid: str | None = None


class IngestReport(BaseModel):
    """One item per file, in the order the files were found."""

    items: list[IngestItem] = Field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Number of files per status (every status present, zero when none)."""
        c = Counter(i.status for i in self.items)
        return {s: c.get(s, 0) for s in ("ingested", "skipped", "failed")}

    def by_status(self, status: IngestStatus) -> list[IngestItem]:
        """The items with this status."""
        return [i for i in self.items if i.status == status]
