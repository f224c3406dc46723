"""A job's life after submit: claim, progress, complete, fail, reap.

QUEUED -> PROCESSING -> COMPLETED | FAILED, and QUEUED or PROCESSING -> CANCELLED. Every
transition is a conditional update, so a duplicate wake-up, a dead worker or a late finish can
never run, charge or settle a job twice: a worker holds a job by its lease token, and only the
holder of a live lease may settle it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from outframe.services import credits, joblog
from outframe.services.clock import new_id, utcnow
from outframe.services.domain import Action, JobStatus
from outframe.services.errors import Conflict, NotFound
from outframe.services.jobstore import JobStore
from outframe.store.models import JOBS, TEAMS, Job

# The claim's statements, built once: every worker runs them for every job.
_RUNNING = aliased(JOBS)
_BUSY = (
    select(func.count())
    .select_from(_RUNNING)
    .where(_RUNNING.c.team_id == JOBS.c.team_id, _RUNNING.c.status == JobStatus.PROCESSING.value)
    .scalar_subquery()
)
_CANDIDATE = (
    select(JOBS.c.seq)
    .join(TEAMS, TEAMS.c.id == JOBS.c.team_id)
    .where(JOBS.c.status == JobStatus.QUEUED.value, TEAMS.c.max_concurrent_jobs > _BUSY)
    .order_by(JOBS.c.seq)
    .limit(1)
)
# PostgreSQL: lock the candidate's team row, so claims for one team take turns, then look again
# in a new statement, which sees what the claimer before committed. SQLite's claims are serial.
_LOCK_TEAM = (
    select(TEAMS.c.id)
    .where(
        TEAMS.c.id == select(JOBS.c.team_id).where(JOBS.c.seq == bindparam("seq")).scalar_subquery()
    )
    .with_for_update()
)
_TEAM_HAS_ROOM = (
    select(TEAMS.c.max_concurrent_jobs > _BUSY)
    .select_from(JOBS.join(TEAMS, TEAMS.c.id == JOBS.c.team_id))
    .where(JOBS.c.seq == bindparam("seq"))
)
_CANCELLABLE = (JobStatus.QUEUED.value, JobStatus.PROCESSING.value)
_TAKE = (
    update(JOBS)
    .where(JOBS.c.seq == bindparam("b_seq"), JOBS.c.status == JobStatus.QUEUED.value)
    .values(
        status=JobStatus.PROCESSING.value,
        attempts=JOBS.c.attempts + 1,
        lease_owner=bindparam("b_token"),
        lease_expires_at=bindparam("b_expires"),
        started_at=bindparam("b_now"),
        progress=0,
    )
)
_CLAIMED = select(
    JOBS.c.id,
    JOBS.c.team_id,
    JOBS.c.action,
    JOBS.c.params,
    JOBS.c.parent_job_id,
    JOBS.c.attempts,
    JOBS.c.webhook_url,
    JOBS.c.created_at,
).where(JOBS.c.seq == bindparam("seq"))


@dataclass(frozen=True)
class Claim:
    """A job a worker holds: only `token` may move it on."""

    job_id: str
    token: str
    team_id: str
    action: Action
    params: dict[str, Any]
    parent_job_id: str | None
    attempt: int
    has_webhook: bool = False
    claimed_at: datetime | None = None


class JobLifecycle(JobStore):
    """What workers and the reaper do to jobs."""

    def claim(self, worker_id: str, prefer: str | None = None) -> Claim | None:
        """Take the oldest QUEUED job whose team is under its concurrency limit, with a lease;
        the job `prefer` first if it is one of those (a queue message names its job)."""
        with self.db.write() as session:
            seq = None
            for candidate in (
                [_CANDIDATE.where(JOBS.c.id == prefer), _CANDIDATE] if prefer else [_CANDIDATE]
            ):
                if self.db.is_postgres:
                    candidate = candidate.with_for_update(skip_locked=True, of=JOBS)
                seq = session.execute(candidate).scalar()
                if seq is not None:
                    break
            if seq is None:
                return None
            if self.db.is_postgres:
                session.execute(_LOCK_TEAM, {"seq": seq})
                if not session.execute(_TEAM_HAS_ROOM, {"seq": seq}).scalar():
                    return None  # a claimer that committed first took the team's last slot
            now = utcnow()
            token = f"{worker_id}/{new_id()[:8]}"
            claimed = session.execute(
                _TAKE,
                {"b_seq": seq, "b_token": token, "b_expires": now + self.lease, "b_now": now},
            )
            if claimed.rowcount == 0:  # type: ignore[attr-defined]
                return None
            job = session.execute(_CLAIMED, {"seq": seq}).one()
        joblog.transition(
            job.id, job.action, job.team_id, "PROCESSING", joblog.seconds_since(job.created_at)
        )
        claim = Claim(
            job_id=job.id,
            token=token,
            team_id=job.team_id,
            action=Action(job.action),
            params=dict(job.params),
            parent_job_id=job.parent_job_id,
            attempt=job.attempts,
            has_webhook=bool(job.webhook_url),
            claimed_at=now,
        )
        self.changes.changed(claim.job_id)
        return claim

    def _held(self, claim: Claim) -> Any:
        return (
            JOBS.c.id == claim.job_id,
            JOBS.c.lease_owner == claim.token,
            JOBS.c.status == JobStatus.PROCESSING.value,
        )

    def set_progress(self, claim: Claim, percent: int, *, notify: bool = False) -> bool:
        """Record progress (and queue a progress webhook if `notify`); False if the lease was
        lost and the worker should stop."""
        with self.db.write() as session:
            result = session.execute(
                update(JOBS).where(*self._held(claim)).values(progress=max(0, min(99, percent)))
            )
            held = bool(result.rowcount)  # type: ignore[attr-defined]
            queued = held and notify and self._event(session, claim.job_id, "progress")
        if held:
            self.changes.changed(claim.job_id)
        if queued:
            self._wake_senders()
        return held

    def renew(self, tokens: list[str]) -> None:
        """Extend the leases of the jobs these workers are running."""
        if not tokens:
            return
        with self.db.write() as session:
            session.execute(
                update(JOBS)
                .where(JOBS.c.lease_owner.in_(tokens), JOBS.c.status == JobStatus.PROCESSING.value)
                .values(lease_expires_at=utcnow() + self.lease)
            )

    def complete(self, claim: Claim, result: dict[str, Any], size: tuple[int, int]) -> bool:
        """Settle a finished job: COMPLETED and its hold posted. False if the lease was lost."""
        with self.db.write() as session:
            done = session.execute(
                update(JOBS)
                .where(*self._held(claim))
                .values(
                    status=JobStatus.COMPLETED.value,
                    progress=100,
                    result=result,
                    completed_at=utcnow(),
                    lease_owner=None,
                    lease_expires_at=None,
                    width=size[0],
                    height=size[1],
                    error=None,
                )
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                return False
            credits.post(session, claim.team_id, claim.job_id)
            queued = claim.has_webhook and self._event(session, claim.job_id, "completed")
        self.changes.changed(claim.job_id)
        seconds = joblog.seconds_since(claim.claimed_at)
        joblog.transition(claim.job_id, claim.action.value, claim.team_id, "COMPLETED", seconds)
        if queued:
            self._wake_senders()
        return True

    def cancel(self, team_id: str, job_id: str) -> None:
        """Cancel a QUEUED or PROCESSING job of `team_id` and refund it. A running job stops at
        its engine's next progress step: the worker's lease dies with the status. No webhook is
        sent (apiframe's events have no cancelled one)."""
        with self.db.write() as session:
            job = session.execute(
                select(
                    JOBS.c.team_id,
                    JOBS.c.status,
                    JOBS.c.credit_cost,
                    JOBS.c.action,
                    JOBS.c.created_at,
                    JOBS.c.started_at,
                ).where(JOBS.c.id == job_id)
            ).one_or_none()
            if job is None or job.team_id != team_id:
                raise NotFound(f"job {job_id} not found", code="job_not_found")
            # Conditional, as every transition: a worker completing the job at this moment
            # either wins (409 here) or loses its lease (its result is discarded).
            cancelled = session.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.status.in_(_CANCELLABLE))
                .values(
                    status=JobStatus.CANCELLED.value,
                    completed_at=utcnow(),
                    lease_owner=None,
                    lease_expires_at=None,
                    credit_cost=0,  # as a failed job's: its credits went back
                )
            )
            if not cancelled.rowcount:  # type: ignore[attr-defined]
                status = session.execute(select(JOBS.c.status).where(JOBS.c.id == job_id))
                raise Conflict(
                    f"job {job_id} is {status.scalar()}; only a QUEUED or PROCESSING job can "
                    "be cancelled",
                    code="not_cancellable",
                )
            if job.credit_cost:
                credits.void(session, team_id, job_id, job.credit_cost)
        self.changes.changed(job_id)
        since = job.started_at if job.status == JobStatus.PROCESSING.value else job.created_at
        joblog.transition(job_id, job.action, team_id, "CANCELLED", joblog.seconds_since(since))

    def fail(self, claim: Claim, error: str) -> bool:
        """Settle a job that cannot succeed: FAILED and its hold voided."""
        with self.db.write() as session:
            job = session.scalar(select(Job).where(*self._held(claim)))
            if job is None:
                return False
            queued = self._fail(session, job, error)
        self.changes.changed(claim.job_id)
        if queued:
            self._wake_senders()
        return True

    def _fail(self, session: Session, job: Job, error: str) -> bool:
        """Mark the job FAILED and refund it; True if a webhook was queued."""
        job.status = JobStatus.FAILED.value
        job.error = error
        job.completed_at = utcnow()
        job.lease_owner = None
        job.lease_expires_at = None
        if job.credit_cost:
            credits.void(session, job.team_id, job.id, job.credit_cost)
        # A failed job shows creditCost 0: its credits went back.
        job.credit_cost = 0
        joblog.transition(
            job.id,
            job.action,
            job.team_id,
            "FAILED",
            joblog.seconds_since(job.started_at),
            error=error,
            level=logging.WARNING,
        )
        if not job.webhook_url:
            return False
        session.flush()
        return self._event(session, job.id, "failed")

    def forgotten(self, older_than: float, limit: int = 10) -> list[str]:
        """QUEUED jobs that have waited over `older_than` seconds: their wake-up may have been
        lost (an API node died between its commit and its publish)."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        with self.db.session() as session:
            rows = session.execute(
                select(JOBS.c.id)
                .where(JOBS.c.status == JobStatus.QUEUED.value, JOBS.c.created_at < cutoff)
                .order_by(JOBS.c.seq)
                .limit(limit)
            )
            return [row.id for row in rows]

    def reap(self) -> list[str]:
        """Requeue jobs whose worker died (lease expired); fail those out of attempts or time.
        Returns the ids of the jobs it moved."""
        now = utcnow()
        changed: list[str] = []
        queued = False
        stale_now = (JOBS.c.lease_expires_at < now) | (JOBS.c.started_at < now - self.timeout)
        # Look first without the write lock: every worker process asks several times a second.
        with self.db.session() as session:
            if not session.execute(
                select(JOBS.c.id)
                .where(JOBS.c.status == JobStatus.PROCESSING.value, stale_now)
                .limit(1)
            ).first():
                return changed
        with self.db.write() as session:
            stale = session.scalars(
                select(Job).where(
                    Job.status == JobStatus.PROCESSING.value,
                    (Job.lease_expires_at < now) | (Job.started_at < now - self.timeout),
                )
            )
            for job in stale:
                changed.append(job.id)
                started = job.started_at or now
                if started < now - self.timeout:
                    timeout = f"timed out after {self.timeout.total_seconds():g} s"
                    queued = self._fail(session, job, timeout) or queued
                elif job.attempts >= self.max_attempts:
                    queued = (
                        self._fail(
                            session,
                            job,
                            f"the worker stopped while running this job {job.attempts} times; "
                            "giving up",
                        )
                        or queued
                    )
                else:
                    joblog.transition(
                        job.id,
                        job.action,
                        job.team_id,
                        "QUEUED",
                        joblog.seconds_since(job.started_at),
                        error="the worker's lease expired; requeued",
                        level=logging.WARNING,
                    )
                    job.status = JobStatus.QUEUED.value
                    job.lease_owner = None
                    job.lease_expires_at = None
                    job.progress = 0
        for job_id in changed:
            self.changes.changed(job_id)
        if queued:
            self._wake_senders()
        return changed
