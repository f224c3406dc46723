"""The embedded queue: a pool of worker threads in the server process, woken in-process."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time

from outframe.queue.base import Queue
from outframe.queue.keeper import Keeper
from outframe.services.jobs import JobService
from outframe.services.runner import JobRunner

log = logging.getLogger(__name__)


class EmbeddedQueue(Queue):
    """N worker threads claim jobs from the database, and a keeper looks after leases.

    Workers also poll every `poll_seconds`, so a job queued before a restart, requeued by the
    keeper, or submitted through another process sharing the database, is found without a
    wake-up.
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
        self.keeper = Keeper(
            jobs,
            runner,
            self.notify,
            interval=min(poll_seconds, lease_seconds / 3),
            retention_days=retention_days,
        )
        self._wake: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.worker_id = f"{os.uname().nodename}:{os.getpid()}"

    def notify(self, job_id: str) -> None:
        self._wake.put(job_id)

    def start(self) -> None:
        self._stopping.clear()
        if self.workers:
            self.runner.engine.start()  # models load before the first claim
        for n in range(self.workers):
            t = threading.Thread(
                target=self._work, args=(n,), name=f"outframe-worker-{n}", daemon=True
            )
            t.start()
            self._threads.append(t)
        if self.workers:
            self.keeper.start()

    def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop claiming; wait up to `drain_seconds` for running jobs to finish (the rest are
        retried elsewhere when their leases lapse)."""
        self._stopping.set()
        for _ in self._threads:
            self._wake.put("")
        deadline = time.monotonic() + drain_seconds
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        self.keeper.stop()
        if self.workers:
            self.runner.engine.close()

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
