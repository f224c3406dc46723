"""The keeper: the housekeeping every worker process runs beside its jobs, on its own thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from outframe.services.jobs import JobService
from outframe.services.retention import forget_idempotency_keys, purge_expired
from outframe.services.runner import JobRunner

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0


class Keeper:
    """Every `interval`: renew the leases of this process's running jobs; requeue the jobs of
    workers that died (and announce them); announce jobs whose wake-up was lost; and, hourly,
    delete images past their retention."""

    def __init__(
        self,
        jobs: JobService,
        runner: JobRunner,
        announce: Callable[[str], None],
        *,
        interval: float,
        retention_days: float,
        forgotten_after: float = 30.0,
    ) -> None:
        self.jobs = jobs
        self.runner = runner
        self.announce = announce
        self.interval = interval
        self.retention_days = retention_days
        self.forgotten_after = forgotten_after
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="outframe-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        next_purge = next_forgotten = 0.0
        while not self._stopping.wait(self.interval):
            try:
                self.jobs.renew(self.runner.tokens())
                for job_id in self.jobs.reap():
                    self.announce(job_id)
                now = time.monotonic()
                if now >= next_forgotten:
                    next_forgotten = now + self.forgotten_after
                    for job_id in self.jobs.forgotten(self.forgotten_after):
                        self.announce(job_id)
                if now >= next_purge:
                    next_purge = now + PURGE_EVERY_SECONDS
                    purged = purge_expired(self.jobs.db, self.runner.storage, self.retention_days)
                    if purged:
                        log.info("retention: deleted the images of %d jobs", purged)
                    forget_idempotency_keys(self.jobs.db)
            except Exception:
                log.exception("keeper failed; retrying")
