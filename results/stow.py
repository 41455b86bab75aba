"""STOW-RS: mimir's SEG and SR objects stored on the configured PACS (never on a server named by a request)."""

from __future__ import annotations

from pydicom import Dataset

from mimir.memory.ingest.pacs_client import PacsError, checked_url, open_client, pacs_errors
from mimir.settings import Settings


def store(settings: Settings, datasets: list[Dataset]) -> list[str]:
    """Send ``datasets`` to ``settings.pacs.url``; the SOP Instance UIDs stored, or ``PacsError``."""
    if not datasets:
        return []
    url = checked_url(settings.pacs.url)
    client = open_client(url, settings.pacs)
    with pacs_errors(url, f"storing {len(datasets)} objects (STOW-RS)", settings.pacs.timeout_s):
        answer = client.store_instances(datasets)
    failed = [str(item.get("ReferencedSOPInstanceUID", "?")) for item in answer.get("FailedSOPSequence", [])]
    if failed:
        raise PacsError(f"The DICOMweb server at {url} refused {len(failed)} of {len(datasets)} objects "
                        f"(first: {failed[0]}); see its log for the reason")
    return [str(item.ReferencedSOPInstanceUID) for item in answer.get("ReferencedSOPSequence", [])]
