"""The embedded queue: a pool of worker threads in the server process, woken in-process."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time

from outframe.queue.base import Queue
from outframe.services.jobs import JobService
from outframe.services.retention import purge_expired
from outframe.services.runner import JobRunner

PURGE_EVERY_SECONDS = 3600.0

log = logging.getLogger(__name__)


class EmbeddedQueue(Queue):
    """N worker threads claim jobs from the database; one keeper thread renews and reaps leases.

    Workers also poll every `poll_seconds`, so a job queued before a restart, or requeued by the
    reaper, is found without a wake-up.
    """

    def __init__(
        self,
        jobs: JobService,
        runner: JobRunner,
        *,
        workers: int,
        poll_seconds: float,
        lease_seconds: float,
        retention_days: float = 90,
    ) -> None:
        self.jobs = jobs
        self.runner = runner
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.retention_days = retention_days
        self.keeper_seconds = min(poll_seconds, lease_seconds / 3)
        self._wake: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.worker_id = f"{os.uname().nodename}:{os.getpid()}"

    def notify(self, job_id: str) -> None:
        self._wake.put(job_id)

    def start(self) -> None:
        self._stopping.clear()
        for n in range(self.workers):
            t = threading.Thread(
                target=self._work, args=(n,), name=f"outframe-worker-{n}", daemon=True
            )
            t.start()
            self._threads.append(t)
        if self.workers:
            keeper = threading.Thread(target=self._keep, name="outframe-keeper", daemon=True)
            keeper.start()
            self._threads.append(keeper)

    def stop(self) -> None:
        self._stopping.set()
        for _ in self._threads:
            self._wake.put("")
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()

    def _work(self, n: int) -> None:
        worker_id = f"{self.worker_id}:{n}"
        while not self._stopping.is_set():
            try:
                claim = self.jobs.claim(worker_id)
            except Exception:
                log.exception("claim failed; retrying")
                claim = None
            if claim is not None:
                self.runner.run(claim)
                continue
            with contextlib.suppress(queue.Empty):
                self._wake.get(timeout=self.poll_seconds)

    def _keep(self) -> None:
        next_purge = 0.0
        while not self._stopping.wait(self.keeper_seconds):
            try:
                self.jobs.renew(self.runner.tokens())
                if self.jobs.reap():
                    for _ in range(self.workers):
                        self._wake.put("")
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                    purged = purge_expired(self.jobs.db, self.runner.storage, self.retention_days)
                    if purged:
                        log.info("retention: deleted the images of %d jobs", purged)
            except Exception:
                log.exception("lease keeper failed; retrying")
