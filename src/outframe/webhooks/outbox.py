"""The outbox: deliveries written in the same transaction as the job's state change, then
claimed, attempted and settled by the sender, surviving restarts in between."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from outframe.services.clock import new_id, utcnow
from outframe.services.views import V1_SECRET, event_payload, is_v1, iso, task_view
from outframe.storage.base import BlobStorage
from outframe.store.db import Database
from outframe.store.models import ATTEMPTS, DELIVERIES, JOBS, ApiKey
from outframe.webhooks.transport import Reply

TERMINAL_EVENTS = ("completed", "failed")

_JOB_FOR_EVENT = select(
    JOBS.c.id,
    JOBS.c.status,
    JOBS.c.progress,
    JOBS.c.result,
    JOBS.c.error,
    JOBS.c.credit_cost,
    JOBS.c.completed_at,
    JOBS.c.webhook_url,
    JOBS.c.webhook_events,
    JOBS.c.action,
    JOBS.c.params,
).where(JOBS.c.id == bindparam("job_id"))


_UNLOCKED = or_(DELIVERIES.c.locked_until.is_(None), DELIVERIES.c.locked_until < bindparam("now"))
_DUE = (
    select(
        DELIVERIES.c.id,
        DELIVERIES.c.job_id,
        DELIVERIES.c.event,
        DELIVERIES.c.webhook_id,
        DELIVERIES.c.url,
        DELIVERIES.c.payload,
        DELIVERIES.c.retried,
        DELIVERIES.c.attempts,
        ApiKey.key_hash,
        JOBS.c.params[V1_SECRET].as_string().label("webhook_secret"),
    )
    .join(JOBS, JOBS.c.id == DELIVERIES.c.job_id)
    .join(ApiKey, ApiKey.id == JOBS.c.api_key_id)
    .where(
        DELIVERIES.c.status == "pending",
        DELIVERIES.c.next_attempt_at <= bindparam("now"),
        _UNLOCKED,
    )
    .order_by(DELIVERIES.c.next_attempt_at)
    .limit(bindparam("limit"))
)
_LOCK = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("b_id"), DELIVERIES.c.status == "pending", _UNLOCKED)
    .values(locked_until=bindparam("until"))
)


@dataclass(frozen=True)
class Due:
    """A claimed delivery, with what is needed to sign it."""

    id: int
    job_id: str
    event: str
    webhook_id: str
    url: str
    payload: str
    retried: bool
    attempts: int
    key_hash: str
    webhook_secret: str | None = None  # apiframe v1's webhook_secret, sent as x-webhook-secret


class Outbox:
    def __init__(
        self,
        db: Database,
        storage: BlobStorage,
        *,
        retry_seconds: Sequence[float],
        lock_seconds: float = 60.0,
    ) -> None:
        self.db = db
        self.storage = storage
        self.retry_seconds = list(retry_seconds)
        # A claim outlives one attempt's timeout; a crashed sender's claims lapse after it.
        self.lock = timedelta(seconds=lock_seconds)
        self.listeners: list[Callable[[], None]] = []

    def wake(self) -> None:
        """Tell senders in this process that something may be due (call after commit)."""
        for listener in self.listeners:
            listener()

    # --- written with the job ------------------------------------------------------------

    def job_event(self, session: Session, job_id: str, event: str) -> bool:
        """Queue the event if the job subscribed to it; True if a delivery was written."""
        job = session.execute(_JOB_FOR_EVENT, {"job_id": job_id}).one_or_none()
        if job is None or not job.webhook_url or event not in (job.webhook_events or ()):
            return False
        if is_v1(job.params):
            # A job made through apiframe v1 gets v1's payload: the task as /fetch shows it.
            if event == "progress":
                return False  # (v1 has no progress webhooks)
            body = orjson.dumps(task_view(job._mapping, self.storage)).decode()
        else:
            body = orjson.dumps(event_payload(job._mapping, event, self.storage)).decode()
        self._insert(
            session, job_id, event, job.webhook_url, body, "msg_" + new_id().replace("-", "")
        )
        return True

    def _insert(
        self, session: Session, job_id: str, event: str, url: str, body: str, webhook_id: str
    ) -> None:
        now = utcnow()
        retried = event in TERMINAL_EVENTS
        session.execute(
            insert(DELIVERIES),
            {
                "job_id": job_id,
                "event": event,
                "webhook_id": webhook_id,
                "url": url,
                "payload": body,
                "retried": retried,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        if retried:
            session.execute(
                update(JOBS).where(JOBS.c.id == job_id).values(webhook_status="pending")
            )

    def redeliver(self, session: Session, job_id: str) -> bool:
        """Send the job's terminal event again, under its original webhook-id."""
        last = session.execute(
            select(
                DELIVERIES.c.event, DELIVERIES.c.url, DELIVERIES.c.payload, DELIVERIES.c.webhook_id
            )
            .where(DELIVERIES.c.job_id == job_id, DELIVERIES.c.retried.is_(True))
            .order_by(DELIVERIES.c.id.desc())
            .limit(1)
        ).one_or_none()
        if last is None:
            return False
        self._insert(session, job_id, last.event, last.url, last.payload, last.webhook_id)
        return True

    # --- the sender's side ---------------------------------------------------------------

    def claim_due(self, limit: int) -> list[Due]:
        """Lock up to `limit` deliveries whose time has come, oldest first."""
        now = utcnow()
        # Look first without the write lock: the sender asks often, and mostly nothing is due.
        with self.db.session() as session:
            rows = session.execute(_DUE, {"now": now, "limit": limit}).all()
        if not rows:
            return []
        claimed = []
        with self.db.write() as session:
            for row in rows:
                taken = session.execute(
                    _LOCK, {"b_id": row.id, "now": now, "until": now + self.lock}
                )
                if taken.rowcount:  # type: ignore[attr-defined]
                    claimed.append(Due(**row._mapping))
        return claimed

    def record(self, due: Due, reply: Reply, duration_ms: int) -> str:
        """Settle one attempt: delivered, failed for good, or scheduled again; returns which."""
        now = utcnow()
        attempts = due.attempts + 1
        status, next_at = self._outcome(due, reply, attempts)
        with self.db.write() as session:
            session.execute(
                insert(ATTEMPTS),
                {
                    "delivery_id": due.id,
                    "attempted_at": now,
                    "status_code": reply.status,
                    "error": reply.error,
                    "duration_ms": duration_ms,
                },
            )
            session.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == due.id)
                .values(
                    status=status,
                    attempts=attempts,
                    locked_until=None,
                    next_attempt_at=next_at or now,
                    last_status_code=reply.status,
                    last_error=reply.error,
                    delivered_at=now if status == "delivered" else None,
                )
            )
            if due.retried and status != "pending":
                session.execute(
                    update(JOBS).where(JOBS.c.id == due.job_id).values(webhook_status=status)
                )
        return status

    def _outcome(self, due: Due, reply: Reply, attempts: int) -> tuple[str, Any]:
        status = reply.status
        if status is not None and 200 <= status < 300:
            return "delivered", None
        if status == 410 or not due.retried or attempts > len(self.retry_seconds):
            return "failed", None
        delay = self.retry_seconds[attempts - 1] * random.uniform(0.9, 1.1)
        if status in (429, 503) and reply.retry_after is not None:
            delay = min(reply.retry_after, 86400.0)
        return "pending", utcnow() + timedelta(seconds=delay)

    # --- read by the API -----------------------------------------------------------------

    def history(self, session: Session, job_id: str) -> list[dict[str, Any]]:
        """Every delivery of a job with its attempts, for GET /v2/jobs/:id/webhooks."""
        deliveries = session.execute(
            select(DELIVERIES).where(DELIVERIES.c.job_id == job_id).order_by(DELIVERIES.c.id)
        ).all()
        attempts = session.execute(
            select(ATTEMPTS)
            .where(ATTEMPTS.c.delivery_id.in_([d.id for d in deliveries]))
            .order_by(ATTEMPTS.c.id)
        ).all()
        out = []
        for d in deliveries:
            out.append(
                {
                    "id": d.id,
                    "event": d.event,
                    "webhookId": d.webhook_id,
                    "url": d.url,
                    "status": d.status,
                    "nextAttemptAt": iso(d.next_attempt_at) if d.status == "pending" else None,
                    "deliveredAt": iso(d.delivered_at),
                    "attempts": [
                        {
                            "at": iso(a.attempted_at),
                            "statusCode": a.status_code,
                            "error": a.error,
                            "durationMs": a.duration_ms,
                        }
                        for a in attempts
                        if a.delivery_id == d.id
                    ],
                }
            )
        return out
