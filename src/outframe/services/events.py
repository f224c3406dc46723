"""A job's events as a Server-Sent Events stream (extension: GET /v2/jobs/:id/events).

One `progress` event for the state at connection and at each change of status or progress, then
`completed`, `failed` or `cancelled` and the end of the stream. The stream waits on the
in-process change hub, so a job this process runs costs one read per change; a job run by another
process (a Celery worker, `outframe worker`) is looked at every `poll_seconds`. A stream lasts
at most `max_seconds`: then it ends without a final event, and the client connects again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from outframe.services.changes import JobChanges
from outframe.services.domain import JobStatus
from outframe.services.jobs import JobService
from outframe.services.views import event_payload
from outframe.storage.base import BlobStorage
from outframe.store.db import Database

# A comment line now and then keeps proxies and browsers from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
# A job that this process runs is told at each change; look anyway now and then, in case.
TOLD_POLL_SECONDS = 10.0
KEEPALIVE = b": keep-alive\n\n"


def frame(event: str, data: dict[str, Any]) -> bytes:
    """One SSE event: `event:` and a one-line JSON `data:`."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def event_name(status: str) -> str:
    if status == JobStatus.COMPLETED.value:
        return "completed"
    if status == JobStatus.FAILED.value:
        return "failed"
    if status == JobStatus.CANCELLED.value:
        return "cancelled"
    return "progress"


class JobEvents:
    """Streams of job events, one per request; built once per process."""

    def __init__(
        self,
        db: Database,
        changes: JobChanges,
        storage: BlobStorage,
        *,
        poll_seconds: float,
        max_seconds: float,
    ) -> None:
        self.db = db
        self.changes = changes
        self.storage = storage
        self.poll_seconds = poll_seconds
        self.max_seconds = max_seconds

    async def stream(self, team_id: str, job_id: str) -> AsyncIterator[bytes]:
        """The job's events; the caller has checked that the job is the team's."""
        start = time.monotonic()
        deadline = start + self.max_seconds
        last_state: tuple[str, int] | None = None
        last_write = start
        # Watch before the first read, so a change between the read and the wait is not missed.
        with self.changes.watch(job_id) as watch:
            yield b"retry: 1000\n\n"  # EventSource: reconnect after a second once a stream ends
            while True:
                job = await self.db.read(lambda conn: JobService.get(conn, team_id, job_id))
                state = (str(job["status"]), int(job["progress"]))
                if state != last_state:
                    last_state = state
                    event = event_name(state[0])
                    yield frame(event, event_payload(job, event, self.storage))
                    last_write = time.monotonic()
                    if event != "progress":
                        return
                    if state[0] == JobStatus.QUEUED.value:
                        watch.woken = False  # requeued: whoever claims it next may be elsewhere
                now = time.monotonic()
                if now >= deadline:
                    return
                if now - last_write >= KEEPALIVE_SECONDS:
                    yield KEEPALIVE
                    last_write = now
                told = watch.woken and state[0] == JobStatus.PROCESSING.value
                wait = TOLD_POLL_SECONDS if told else self.poll_seconds
                await watch.wait(
                    max(0.0, min(wait, deadline - now, KEEPALIVE_SECONDS - (now - last_write)))
                )
