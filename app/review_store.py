"""Saved reviews in the timeline database: one thread per review, bound to one patient.

A thread id names a row, never a file. A question may continue a thread only when it is about the
thread's patient; the thread's images are linked rows, which the database refuses for another
patient's image. Streamed events are written by one background writer in batches, so dozens of
concurrent questions do not queue for SQLite's write lock before their first event reaches the
reviewer; reading a review waits for the events already sent.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError

from mimir.app.ids import new_thread_id
from mimir.app.refusals import NotFound
from mimir.domain import Case, Event
from mimir.memory.db import Database
from mimir.memory.models import Image, Patient, ReviewEvent, ReviewThread
from mimir.memory.registration import PatientMismatch

log = logging.getLogger(__name__)
#: Events written per transaction, at most.
BATCH = 256
#: Thread ids remembered (thread key -> row id) before the memo is cleared.
MAX_CACHED_IDS = 10_000


class ReviewStore:
    """Create, continue, read and list review threads."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: dict[str, int] = {}
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._write_events, name="review-events", daemon=True).start()

    def open(self, thread_key: str | None, case: Case) -> str:
        """A new thread for ``case`` (``thread_key`` None), or the named one if it is the case's patient's."""
        with self.db.session() as s:
            patient_pk = _patient_pk(s, case.patient_id)
            if thread_key is None:
                thread = ReviewThread(thread_key=new_thread_id(), patient_id=patient_pk, question=case.question,
                                      case=case.model_dump(mode="json"))
                s.add(thread)
            else:
                thread = _thread(s, thread_key)
                if thread.patient_id != patient_pk:
                    raise PatientMismatch(f"thread '{thread_key}' is a review of another patient; "
                                          "start a new thread (omit thread_id) for this patient")
            have = {im.id for im in thread.images}
            ids = [i.image_id for i in case.images if i.image_id is not None and i.image_id not in have]
            thread.images.extend(s.scalars(select(Image).where(Image.id.in_(ids))))
            s.flush()
            self._ids[thread.thread_key] = thread.id
            return thread.thread_key

    def patient_of(self, thread_key: str) -> str | None:
        """The patient key of a thread (None for a thread about images the timeline does not know)."""
        with self.db.session() as s:
            thread = _thread(s, thread_key)
            if thread.patient_id is None:
                return None
            patient = s.get(Patient, thread.patient_id)
            assert patient is not None, "a thread's patient id is a foreign key (deleting the patient deletes the thread)"
            return patient.patient_key

    def append(self, thread_key: str, event: Event) -> None:
        """Record one streamed event of the thread (written in the background, in order)."""
        row = self._ids.get(thread_key)
        if row is None:
            with self.db.session() as s:
                row = _thread(s, thread_key).id
            if len(self._ids) > MAX_CACHED_IDS:
                self._ids.clear()
            self._ids[thread_key] = row
        # Serialised here, so an event that cannot be stored fails its own request, not the writer.
        self._queue.put({"thread_id": row, "kind": event.kind, "data": event.model_dump(mode="json")})

    def flush(self) -> None:
        """Wait until every event appended so far is written."""
        self._queue.join()

    def _write_events(self) -> None:
        while True:
            rows = [self._queue.get()]
            while len(rows) < BATCH and not self._queue.empty():
                rows.append(self._queue.get_nowait())
            for attempt in range(10):
                try:
                    with self.db.session() as s:
                        s.execute(insert(ReviewEvent), rows)
                    break
                except OperationalError as e:  # SQLite busy beyond its timeout: wait, then retry
                    log.warning("review events not written yet (%s); retrying", e.orig)
                    time.sleep(0.5 * (attempt + 1))
            else:
                log.error("%d review events could not be written", len(rows))
            for _ in rows:
                self._queue.task_done()

    def get(self, thread_key: str) -> dict[str, Any]:
        """The review: its thread id, first case, start time and every event so far."""
        self.flush()
        with self.db.session() as s:
            t = _thread(s, thread_key)
            return {"thread_id": t.thread_key, "case": t.case, "started": t.started.isoformat(timespec="seconds"),
                    "events": [e.data for e in t.events]}

    def of_patient(self, patient_key: str) -> list[dict[str, str]]:
        """The patient's reviews, newest first: thread id, first question, start time."""
        with self.db.session() as s:
            rows = s.execute(
                select(ReviewThread.thread_key, ReviewThread.question, ReviewThread.started)
                .join(Patient, ReviewThread.patient_id == Patient.id)
                .where(Patient.patient_key == patient_key)
                .order_by(ReviewThread.started.desc(), ReviewThread.id.desc())
            )
            return [{"thread_id": k, "question": q, "started": d.isoformat(timespec="seconds")} for k, q, d in rows]


def _thread(s: Any, thread_key: str) -> ReviewThread:
    thread = s.scalar(select(ReviewThread).where(ReviewThread.thread_key == thread_key))
    if thread is None:
        raise NotFound(f"Unknown thread '{thread_key}'")
    return thread


def _patient_pk(s: Any, patient_key: str | None) -> int | None:
    if patient_key is None:
        return None
    pk = s.scalar(select(Patient.id).where(Patient.patient_key == patient_key))
    if pk is None:
        raise NotFound(f"Unknown patient '{patient_key}'")
    return int(pk)
