"""``mimir ingest --dicomweb``: a PACS's studies into the timeline over QIDO-RS and WADO-RS.

Study by study: QIDO-RS lists the series and instances; instances whose SOP Instance UID the
timeline already holds are skipped; the rest are retrieved with WADO-RS (a whole series in one
request when none of it is present), written under the storage folder by content hash, and added
together with their provenance (``RemoteInstance``) in one transaction. A failure inside a study
(server down, too slow, an HTTP error) leaves nothing of that study in the timeline, and rerunning
the same command resumes where it stopped. ``refresh`` fetches again what this server delivered
before and replaces the images whose content changed on the server.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pydicom import Dataset
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mimir.memory.db import Database
from mimir.memory.ingest.dicom import record_from_dataset
from mimir.memory.ingest.ingest_report import IngestItem, IngestReport
from mimir.memory.ingest.pacs_client import (
    NON_IMAGE_MODALITIES,
    PacsError,
    RemoteSeries,
    checked_url,
    find_series,
    instance_uids,
    open_client,
    pacs_errors,
)
from mimir.memory.ingest.record_writer import write_study
from mimir.memory.ingest.records import ImageRecord
from mimir.memory.models import Image, RemoteInstance
from mimir.settings import Settings

if TYPE_CHECKING:
    from dicomweb_client import DICOMwebClient

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
#: Retrieve instances as the server stores them (no transcoding, no lossy re-encoding).
ANY_SYNTAX = (("application/dicom", "*"),)
_PIXELS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


@dataclass
class _Run:
    """What every study of one ingest shares."""

    db: Database
    settings: Settings
    client: DICOMwebClient
    source: str
    refresh: bool
    failed: PacsError | None = None  # set once the server is unreachable: later studies are not tried


@dataclass
class _Plan:
    """One series: its instances, which the timeline has, and what to fetch."""

    series: RemoteSeries
    uids: list[str]
    present: set[str]
    refresh: dict[str, int] = field(default_factory=dict)  # SOP UID -> image id, delivered by this server

    @property
    def to_fetch(self) -> list[str]:
        """Missing instances, plus those to refresh."""
        return [u for u in self.uids if u not in self.present or u in self.refresh]


@dataclass
class _Fetched:
    """One retrieved instance, written to storage."""

    record: ImageRecord
    series: RemoteSeries
    new_file: bool
    refresh_id: int | None = None  # the image this instance replaces (refresh of an earlier retrieval)


def ingest_dicomweb(
    db: Database, settings: Settings, url: str | None = None, *, patient: str | None = None,
    since: date | None = None, modalities: list[str] | None = None, refresh: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest the matching studies of a DICOMweb server; one report item per instance.

    Raises ``PacsError`` when the server cannot be searched at all; errors inside a study are
    reported on that study's items (status ``failed``) and nothing of it is written.
    """
    source = checked_url(url or settings.pacs.url)
    run = _Run(db, settings, open_client(source, settings.pacs), source, refresh)
    with pacs_errors(source, "searching for studies (QIDO-RS)", settings.pacs.timeout_s):
        found = find_series(run.client, patient, since, modalities)
    studies: dict[str, list[RemoteSeries]] = {}
    for se in found:
        studies.setdefault(se.study_uid, []).append(se)
    items: list[IngestItem] = []
    done = 0
    for study_uid, members in studies.items():
        items += _study(run, study_uid, members)
        done += len(members)
        if progress:
            progress(done, len(found), study_uid)
    return IngestReport(items=items)


def _url(source: str, se: RemoteSeries, sop: str | None = None) -> str:
    base = f"{source}/studies/{se.study_uid}/series/{se.series_uid}"
    return f"{base}/instances/{sop}" if sop else base


def _study(run: _Run, study_uid: str, members: list[RemoteSeries]) -> list[IngestItem]:
    if run.failed is not None:
        return [IngestItem(path=_url(run.source, se), status="failed", study_uid=study_uid,
                           reason=f"not tried: {run.failed}") for se in members]
    items: list[IngestItem] = []
    plans: list[_Plan] = []
    fetched: list[_Fetched] = []
    try:
        for se in members:
            if (se.modality or "").upper() in NON_IMAGE_MODALITIES:
                items.append(IngestItem(path=_url(run.source, se), status="skipped", study_uid=study_uid,
                                        reason=f"not an image series: {se.modality}"))
                continue
            with _errors(run, f"listing the instances of series {se.series_uid} (QIDO-RS)"):
                plans.append(_plan(run, se, instance_uids(run.client, se)))
        for plan in plans:
            fetched += _retrieve(run, plan)
        written = _write(run, study_uid, fetched)
    except (PacsError, SQLAlchemyError, OSError) as e:
        _forget(fetched)
        if isinstance(e, PacsError) and e.unreachable:
            run.failed = e
        log.warning("study %s not ingested: %s", study_uid, e)
        reason = f"study not ingested, rerun to resume: {e}"
        todo: list[tuple[RemoteSeries, str | None]] = [(p.series, u) for p in plans for u in p.to_fetch]
        todo = todo or [(se, None) for se in members]
        return items + [IngestItem(path=_url(run.source, se, u), status="failed", study_uid=study_uid,
                                   file_format="dicom", reason=reason) for se, u in todo]
    return items + _outcomes(run, study_uid, plans, written)


def _errors(run: _Run, what: str):  # a context manager
    return pacs_errors(run.source, what, run.settings.pacs.timeout_s)


def _plan(run: _Run, se: RemoteSeries, uids: list[str]) -> _Plan:
    with run.db.session() as s:
        # sop_uid IN (...) never matches a NULL, so every UID found is a string
        present = cast(set[str], set(s.scalars(select(Image.sop_uid).where(Image.sop_uid.in_(uids))))) if uids else set()
        mine = {}
        if run.refresh and uids:
            query = select(RemoteInstance.sop_uid, RemoteInstance.image_id).where(
                RemoteInstance.source == run.source, RemoteInstance.sop_uid.in_(uids))
            mine = {sop: image_id for sop, image_id in s.execute(query)}
    return _Plan(se, uids, present, mine)


def _retrieve(run: _Run, plan: _Plan) -> list[_Fetched]:
    """The plan's instances from the server (WADO-RS), each written to storage by content hash."""
    wanted = plan.to_fetch
    if not wanted:
        return []
    se = plan.series
    out: list[_Fetched] = []
    seen: set[str] = set()
    try:
        with _errors(run, f"retrieving series {se.series_uid} (WADO-RS)"):
            if len(wanted) == len(plan.uids):
                datasets = run.client.iter_series(se.study_uid, se.series_uid, media_types=ANY_SYNTAX)
            else:
                datasets = (run.client.retrieve_instance(se.study_uid, se.series_uid, sop, media_types=ANY_SYNTAX)
                            for sop in wanted)
            for ds in datasets:
                seen.add(str(ds.get("SOPInstanceUID", "")))
                out += _keep(run, plan, ds)
        lost = [u for u in wanted if u not in seen]
        if lost:
            raise PacsError(f"The DICOMweb server at {run.source} listed {len(wanted)} instances of series "
                            f"{se.series_uid} but returned {len(wanted) - len(lost)} (first missing: {lost[0]})")
    except BaseException:
        _forget(out)
        raise
    return out


def _keep(run: _Run, plan: _Plan, ds: Dataset) -> list[_Fetched]:
    sop = str(ds.get("SOPInstanceUID", ""))
    if sop not in plan.to_fetch or not any(k in ds for k in _PIXELS):
        return []  # not asked for, or no pixels: nothing mimir reads
    if str(ds.get("StudyInstanceUID", "")) != plan.series.study_uid:
        raise PacsError(f"The DICOMweb server at {run.source} returned instance {sop} of another study "
                        f"({ds.get('StudyInstanceUID')}) for study {plan.series.study_uid}")
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    path, new = _store(run.settings.storage_dir, digest, data)
    return [_Fetched(record_from_dataset(path, ds, digest), plan.series, new, plan.refresh.get(sop))]


def _store(storage: Path, digest: str, data: bytes) -> tuple[Path, bool]:
    dest = storage / digest[:2] / f"{digest}.dcm"
    if dest.exists():
        return dest.resolve(), False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(dest)
    return dest.resolve(), True


def _forget(fetched: list[_Fetched]) -> None:
    """Remove files this attempt created that the timeline does not reference."""
    for f in fetched:
        if f.new_file:
            Path(f.record.path).unlink(missing_ok=True)


def _write(run: _Run, study_uid: str, fetched: list[_Fetched]) -> dict[str, tuple[int, str]]:
    """One transaction: new images and their provenance, refreshed images replaced; SOP UID -> (id, note)."""
    if not fetched:
        return {}
    new = [f for f in fetched if f.refresh_id is None]
    now = datetime.now().replace(microsecond=0)
    out: dict[str, tuple[int, str]] = {}
    with run.db.session() as s:
        ids = write_study(s, [f.record for f in new], run.settings.storage_dir, copy=False) if new else []
        for f, image_id in zip(new, ids, strict=True):
            s.add(RemoteInstance(image_id=image_id, source=run.source, study_uid=study_uid,
                                 series_uid=f.series.series_uid, sop_uid=f.record.sop_uid or "", retrieved_at=now))
            out[f.record.sop_uid or ""] = (image_id, "")
        for f in fetched:
            if f.refresh_id is not None:
                out[f.record.sop_uid or ""] = (f.refresh_id, _replace(s, f.refresh_id, f.record, run.source, now))
    return out


def _replace(s: Session, image_id: int, rec: ImageRecord, source: str, now: datetime) -> str:
    img = s.get_one(Image, image_id)
    remote = s.scalars(select(RemoteInstance).where(RemoteInstance.source == source,
                                                    RemoteInstance.sop_uid == rec.sop_uid)).one()
    remote.retrieved_at = now
    if img.content_hash == rec.content_hash:
        return "refreshed: unchanged on the server"
    img.content_hash, img.storage_path = rec.content_hash, rec.path
    img.rows, img.cols, img.n_slices, img.spacing = rec.rows, rec.cols, rec.n_slices, rec.spacing
    img.instance_number = rec.instance_number
    return "refreshed: content changed on the server"


def _outcomes(run: _Run, study_uid: str, plans: list[_Plan], written: dict[str, tuple[int, str]]) -> list[IngestItem]:
    items = []
    for p in plans:
        for u in p.uids:
            url = _url(run.source, p.series, u)
            if u in written:
                image_id, note = written[u]
                status = "skipped" if note.endswith("unchanged on the server") else "ingested"
                items.append(IngestItem(path=url, status=status, reason=note, file_format="dicom",
                                        image_id=image_id, study_uid=study_uid))
            elif u in p.present:
                items.append(IngestItem(path=url, status="skipped", file_format="dicom", study_uid=study_uid,
                                        reason="already in the timeline (same SOP Instance UID)"))
            else:
                items.append(IngestItem(path=url, status="skipped", study_uid=study_uid,
                                        reason="no pixel data: not an image"))
    return items
