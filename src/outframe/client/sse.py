"""Following a job: the Server-Sent Events parser and the bookkeeping of `wait` (sans I/O)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from outframe.client.errors import JobCancelled, JobFailed, WaitTimeout
from outframe.client.models import Job

ProgressCallback = Callable[[Job], object]
FINAL_EVENTS = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class SseEvent:
    name: str
    data: str


class SseParser:
    """Lines in, events out, as the SSE spec reads them (comments and `retry:` ignored)."""

    def __init__(self) -> None:
        self._name = ""
        self._data: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        if not line:
            if not self._data and not self._name:
                return None
            event = SseEvent(self._name or "message", "\n".join(self._data))
            self._name, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._name = value
        elif field == "data":
            self._data.append(value)
        return None


class Waiter:
    """What `wait` knows: the job's last state, its deadline, the next poll's delay; it calls
    `on_progress` once per change of status or progress."""

    def __init__(
        self,
        job_id: str,
        on_progress: ProgressCallback | None,
        timeout: float,
        poll_interval: float,
        max_poll_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job_id
        self.on_progress = on_progress
        self.timeout = timeout
        self._clock = clock
        self.deadline = clock() + timeout
        self._interval = poll_interval
        self._max_interval = max(poll_interval, max_poll_interval)
        self._last: tuple[str, int] | None = None

    def see(self, job: Job) -> Job:
        state = (job.status, job.progress)
        if state != self._last:
            self._last = state
            if self.on_progress is not None:
                self.on_progress(job)
        return job

    def event(self, job: Job, event: SseEvent) -> tuple[Job, bool]:
        """The job after a stream event, and whether the event was the final one."""
        try:
            data = json.loads(event.data) if event.data else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        status = str(data.get("status") or job.status)
        progress = data.get("progress")
        changed = dataclasses.replace(
            job,
            status=status,
            progress=int(progress) if isinstance(progress, int | float) else job.progress,
        )
        final = event.name in FINAL_EVENTS
        if not final:  # the final state is reported from the full job, read after the stream
            self.see(changed)
        return changed, final

    def remaining(self) -> float:
        return self.deadline - self._clock()

    def next_interval(self) -> float:
        """The delay before the next poll: growing by half up to the maximum, never past the
        deadline."""
        interval = self._interval
        self._interval = min(self._max_interval, interval * 1.5)
        return max(0.0, min(interval, self.remaining()))

    def check(self, job: Job) -> None:
        if not job.done and self.remaining() <= 0:
            raise WaitTimeout(job, self.timeout)

    @staticmethod
    def outcome(job: Job) -> Job:
        """The COMPLETED job, or the exception of how else it ended."""
        if job.status == "FAILED":
            raise JobFailed(job)
        if job.status == "CANCELLED":
            raise JobCancelled(job)
        return job
