"""A DICOMweb server (a PACS) through dicomweb-client: session, errors a person can act on, QIDO-RS queries.

The HTTP is dicomweb-client's; this module adds what mimir needs around it: credentials from
settings (never from the URL), TLS verification on by default, one timeout for every request, and
``PacsError`` messages that say which server failed, how, and what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydicom import Dataset

from mimir.settings import PacsSettings

if TYPE_CHECKING:
    from dicomweb_client import DICOMwebClient

log = logging.getLogger(__name__)
PAGE = 200
#: Series of these modalities hold no pixels mimir reads (reports, results, presentation states).
NON_IMAGE_MODALITIES = frozenset({"SR", "SEG", "KO", "PR", "DOC", "REG", "RTSTRUCT", "RTPLAN", "RTRECORD", "PLAN"})


class PacsError(RuntimeError):
    """The DICOMweb server could not be reached, was too slow, or answered with an error."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def checked_url(url: str | None) -> str:
    """The server's base URL without a trailing slash; refuses other schemes and embedded credentials."""
    if not url:
        raise PacsError("No DICOMweb server configured: pass --dicomweb URL or set MIMIR_PACS__URL")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PacsError(f"DICOMweb URL '{url}' must start with http:// or https:// and name a host")
    if parts.username or parts.password:
        raise PacsError("Put DICOMweb credentials in MIMIR_PACS__USERNAME/MIMIR_PACS__PASSWORD or "
                        "MIMIR_PACS__TOKEN, not in the URL (it is recorded in the timeline)")
    return url.strip().rstrip("/")


def open_client(url: str, pacs: PacsSettings) -> DICOMwebClient:
    """A dicomweb-client for ``url`` with the configured authentication, TLS checks and timeout."""
    import requests
    from dicomweb_client import DICOMwebClient

    session = requests.Session()
    session.verify = str(pacs.ca_bundle) if pacs.ca_bundle else pacs.verify_tls
    if not pacs.verify_tls:
        log.warning("TLS certificate checks are off for %s (MIMIR_PACS__VERIFY_TLS=false)", url)
    if pacs.token is not None:
        session.headers["Authorization"] = f"Bearer {pacs.token.get_secret_value()}"
    elif pacs.username:
        session.auth = (pacs.username, pacs.password.get_secret_value() if pacs.password else "")
    client = DICOMwebClient(checked_url(url), session=session, timeout=pacs.timeout_s)
    client.set_http_retry_params(retry=False)  # a slow or failing server is reported, not retried for minutes
    return client


@contextmanager
def pacs_errors(url: str, what: str, timeout_s: float) -> Iterator[None]:
    """Turn requests' exceptions into one ``PacsError`` naming the server, the step and a remedy."""
    import requests

    try:
        yield
    except requests.exceptions.SSLError as e:
        raise PacsError(f"TLS check of {url} failed while {what} ({e}); trust its certificate with "
                        "MIMIR_PACS__CA_BUNDLE", unreachable=True) from e
    except requests.exceptions.Timeout as e:
        raise PacsError(f"The DICOMweb server at {url} did not answer within {timeout_s:g} s while {what}; "
                        "rerun later (finished studies are kept) or raise MIMIR_PACS__TIMEOUT_S",
                        unreachable=True) from e
    except requests.exceptions.ConnectionError as e:
        raise PacsError(f"Cannot reach the DICOMweb server at {url} while {what}: {_reason(e)}; is it running "
                        "and is the URL right? Rerun to resume", unreachable=True) from e
    except requests.exceptions.HTTPError as e:
        raise PacsError(_http_message(url, what, e.response)) from e
    except (requests.exceptions.RequestException, ValueError, KeyError) as e:
        raise PacsError(f"The DICOMweb server at {url} sent an answer mimir cannot read while {what}: "
                        f"{type(e).__name__}: {e}") from e


def _reason(e: Exception) -> str:
    text = str(e)
    return "connection refused" if "refused" in text.lower() else text[:200]


def _http_message(url: str, what: str, response: Any) -> str:
    code = getattr(response, "status_code", "?")
    reason = getattr(response, "reason", "") or ""
    if code in (401, 403):
        return (f"The DICOMweb server at {url} refused access (HTTP {code}) while {what}: set MIMIR_PACS__TOKEN "
                "or MIMIR_PACS__USERNAME and MIMIR_PACS__PASSWORD")
    return f"The DICOMweb server at {url} answered HTTP {code} {reason} while {what}".rstrip()


@dataclass(frozen=True)
class RemoteSeries:
    """One series a QIDO-RS search found."""

    study_uid: str
    series_uid: str
    patient_id: str | None
    study_date: str | None
    modality: str | None
    description: str | None


def _paged(search: Callable[..., list[dict]], **kwargs: Any) -> list[Dataset]:
    """Every result of a QIDO-RS search, asked for in pages of ``PAGE``."""
    out: list[Dataset] = []
    while True:
        page = search(limit=PAGE, offset=len(out), **kwargs)
        out.extend(Dataset.from_json(r) for r in page)
        if len(page) < PAGE:
            return out


def _value(ds: Dataset, key: str) -> str | None:
    v = ds.get(key, None)
    text = str(v).strip() if v is not None else ""
    return text or None


def find_series(client: DICOMwebClient, patient: str | None = None, since: date | None = None,
                modalities: list[str] | None = None) -> list[RemoteSeries]:
    """Series of the studies matching ``patient`` and ``since``, of ``modalities`` (all when None)."""
    filters: dict[str, str] = {}
    if patient:
        filters["PatientID"] = patient
    if since:
        filters["StudyDate"] = f"{since:%Y%m%d}-"
    studies = _paged(client.search_for_studies, search_filters=filters,
                     fields=["StudyInstanceUID", "PatientID", "StudyDate"])
    wanted = {m.upper() for m in modalities} if modalities else None
    found: list[RemoteSeries] = []
    for st in sorted(studies, key=lambda d: str(d.get("StudyInstanceUID", ""))):
        study_uid = _value(st, "StudyInstanceUID")
        if study_uid is None:
            continue
        rows = _paged(client.search_for_series, study_instance_uid=study_uid,
                      fields=["SeriesInstanceUID", "Modality", "SeriesDescription"])
        for se in sorted(rows, key=lambda d: str(d.get("SeriesInstanceUID", ""))):
            series = RemoteSeries(study_uid, _value(se, "SeriesInstanceUID") or "", _value(st, "PatientID"),
                                  _value(st, "StudyDate"), _value(se, "Modality"), _value(se, "SeriesDescription"))
            if series.series_uid and (wanted is None or (series.modality or "").upper() in wanted):
                found.append(series)
    return found


def instance_uids(client: DICOMwebClient, series: RemoteSeries) -> list[str]:
    """SOP Instance UIDs of one series, sorted."""
    rows = _paged(client.search_for_instances, study_instance_uid=series.study_uid,
                  series_instance_uid=series.series_uid, fields=["SOPInstanceUID"])
    return sorted({uid for r in rows if (uid := _value(r, "SOPInstanceUID"))})
