"""Retention: images are kept for OUTFRAME_RETENTION_DAYS after their job ends, then deleted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from outframe.services.clock import utcnow
from outframe.services.runner import mask_name
from outframe.services.submit import IDEMPOTENCY_TTL
from outframe.storage.base import BlobStorage
from outframe.store.db import Database
from outframe.store.models import IDEMPOTENCY, JOBS


def purge_expired(db: Database, storage: BlobStorage, days: float, batch: int = 500) -> int:
    """Delete the images of jobs that ended more than `days` ago; returns how many jobs."""
    now = utcnow()
    with db.session() as session:
        rows = session.execute(
            select(JOBS.c.id, JOBS.c.result)
            .where(
                JOBS.c.completed_at < now - timedelta(days=days),
                JOBS.c.images_purged_at.is_(None),
            )
            .limit(batch)
        ).all()
    for row in rows:
        stored = row.result or {}
        kept = [*stored.get("images", []), stored.get("grid"), stored.get("video")]
        for name in [*kept, mask_name(row.id)]:
            if name:
                storage.delete(name)
        # Deleting first and marking after: a crash in between only deletes again.
    if rows:
        with db.write() as session:
            session.execute(
                update(JOBS)
                .where(JOBS.c.id.in_([row.id for row in rows]))
                .values(images_purged_at=now)
            )
    return len(rows)


def forget_idempotency_keys(db: Database) -> int:
    """Delete Idempotency-Key records past their 24 hours; returns how many."""
    with db.write() as session:
        gone = session.execute(
            delete(IDEMPOTENCY).where(IDEMPOTENCY.c.created_at < utcnow() - IDEMPOTENCY_TTL)
        )
        return int(gone.rowcount)  # type: ignore[attr-defined]
