"""What the job service's halves share: the database, the webhook outbox and the settings."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from outframe.services.changes import JobChanges
from outframe.store.db import Database
from outframe.webhooks.outbox import Outbox


class JobStore:
    """The state behind JobService; its submit and lifecycle halves build on it."""

    def __init__(
        self,
        db: Database,
        *,
        lease_seconds: float,
        job_timeout_seconds: float,
        max_attempts: int,
        outbox: Outbox | None = None,
        max_canvas_pixels: int = 16_777_216,
        changes: JobChanges | None = None,
        import_quota_bytes: int = 0,
    ) -> None:
        self.db = db
        self.outbox = outbox
        # Told after each commit that moves a job on (event streams wait on it).
        self.changes = changes or JobChanges()
        self.max_canvas_pixels = max_canvas_pixels
        self.import_quota_bytes = import_quota_bytes
        self.lease = timedelta(seconds=lease_seconds)
        self.timeout = timedelta(seconds=job_timeout_seconds)
        self.max_attempts = max_attempts

    def _event(self, session: Session, job_id: str, event: str) -> bool:
        return self.outbox is not None and self.outbox.job_event(session, job_id, event)

    def _wake_senders(self) -> None:
        if self.outbox is not None:
            self.outbox.wake()
