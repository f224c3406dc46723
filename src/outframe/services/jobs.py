"""The job lifecycle, in one place: submit, claim, progress, complete, fail, reap.

QUEUED -> PROCESSING -> COMPLETED | FAILED. Every transition is a conditional update, so a
duplicate wake-up, a dead worker or a late finish can never run, charge or settle a job twice:
a worker holds a job by its lease token, and only the holder of a live lease may settle it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from outframe.imaging import canvas
from outframe.services import credits
from outframe.services.clock import new_id, utcnow
from outframe.services.domain import Action, JobStatus
from outframe.services.errors import BadRequest, Conflict, NotFound
from outframe.services.keys import Caller
from outframe.store.db import Database, PreparedQuery
from outframe.store.models import IDEMPOTENCY, JOBS, TEAMS, Job
from outframe.webhooks.outbox import Outbox

log = logging.getLogger(__name__)
# What a job's public view needs (not its params, which may be long); built once: a hot path.
VIEW_COLUMNS = [
    JOBS.c[name]
    for name in (
        "seq",
        "id",
        "team_id",
        "status",
        "action",
        "parent_job_id",
        "progress",
        "result",
        "error",
        "credit_cost",
        "webhook_status",
        "created_at",
        "completed_at",
    )
]
_PARENT_BY_ID = select(
    JOBS.c.id,
    JOBS.c.team_id,
    JOBS.c.status,
    JOBS.c.action,
    JOBS.c.params,
    JOBS.c.width,
    JOBS.c.height,
    JOBS.c.images_purged_at,
).where(JOBS.c.id == bindparam("job_id"))
_INSERT_JOB = insert(JOBS)
_INSERT_IDEMPOTENCY = insert(IDEMPOTENCY)
_IDEMPOTENCY_BY_KEY = select(
    IDEMPOTENCY.c.request_hash, IDEMPOTENCY.c.status_code, IDEMPOTENCY.c.response
).where(IDEMPOTENCY.c.team_id == bindparam("team"), IDEMPOTENCY.c.key == bindparam("key"))
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
).where(JOBS.c.seq == bindparam("seq"))
_JOB_BY_ID = PreparedQuery(select(*VIEW_COLUMNS).where(JOBS.c.id == bindparam("job_id")))


@dataclass(frozen=True)
class JobRequest:
    """A validated submission; `params` holds the action's own fields (prompt, index, ...)."""

    action: Action
    params: dict[str, Any] = field(default_factory=dict)
    parent_job_id: str | None = None
    webhook_url: str | None = None
    webhook_events: Sequence[str] | None = None


@dataclass(frozen=True)
class Submitted:
    status_code: int
    body: dict[str, Any]
    job_id: str
    created: bool  # False when an Idempotency-Key replayed an earlier answer


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


@dataclass(frozen=True)
class ParentInfo:
    job_id: str
    action: Action
    width: int
    height: int
    prompt: str


def _check_canvas(
    action: Action, params: dict[str, Any], parent: ParentInfo, max_pixels: int
) -> None:
    """An action on an image must make new pixels, on a canvas this server can hold in memory."""
    width, height = parent.width, parent.height
    if not width or not height or action not in (Action.OUTPAINT, Action.PAN, Action.INPAINT):
        return
    size = (width, height)
    if action is Action.OUTPAINT:
        ratio = float(params["zoomRatio"])
        if canvas.zoom_inner_size(width, height, ratio) == size:
            raise BadRequest(
                f"zoomRatio {ratio:g} on a {width}x{height} image would make no new pixels "
                "(the image is too small or the ratio too close to 1)",
                code="invalid_request",
            )
    elif action is Action.PAN:
        direction = str(params["direction"])
        size = canvas.pan_size(width, height, direction)
        if size == (width, height):
            side = "wide" if direction in ("left", "right") else "high"
            raise BadRequest(
                f"a {width}x{height} image is too small to pan {direction}: "
                f"it must be at least 2 pixels {side}",
                code="invalid_request",
            )
    if size[0] * size[1] > max_pixels:
        raise BadRequest(
            f"this {action.value} would make a {size[0]}x{size[1]} image "
            f"({size[0] * size[1]} pixels), more than this server's limit of {max_pixels} "
            "(OUTFRAME_MAX_CANVAS_PIXELS)",
            code="image_too_large",
        )


class JobService:
    """All reads and writes of jobs go through here; routes and workers call it."""

    def __init__(
        self,
        db: Database,
        *,
        lease_seconds: float,
        job_timeout_seconds: float,
        max_attempts: int,
        outbox: Outbox | None = None,
        max_canvas_pixels: int = 16_777_216,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.max_canvas_pixels = max_canvas_pixels
        self.lease = timedelta(seconds=lease_seconds)
        self.timeout = timedelta(seconds=job_timeout_seconds)
        self.max_attempts = max_attempts

    # --- submit -------------------------------------------------------------------------------

    def check_parent(self, session: Session, caller: Caller, request: JobRequest) -> ParentInfo:
        """The parent must exist, be the caller's, be COMPLETED and of a kind this action takes."""
        parent_id = request.parent_job_id
        parent = (
            session.execute(_PARENT_BY_ID, {"job_id": parent_id}).one_or_none()
            if parent_id
            else None
        )
        if parent is None or parent.team_id != caller.team_id:
            raise NotFound(f"parent job {parent_id} not found", code="parent_not_found")
        if parent.status == JobStatus.FAILED.value:
            raise BadRequest(
                "parent job FAILED, so it has no images to work from; use a completed job",
                code="invalid_parent",
            )
        if parent.status != JobStatus.COMPLETED.value:
            raise BadRequest(
                f"parent job is {parent.status}; wait until it is COMPLETED",
                code="invalid_parent",
            )
        if parent.images_purged_at is not None:
            raise BadRequest(
                "parent job's images were deleted at the end of this server's retention period "
                "(OUTFRAME_RETENTION_DAYS); import the image again to work on it",
                code="invalid_parent",
            )
        kind = Action(parent.action)
        if kind not in request.action.parent_kinds:
            if request.action.makes_grid:
                hint = "upsample one image of the grid first"
                wanted = "a completed upsample or import"
            else:
                hint = "pass the id of a grid job (generate, variation, outpaint, pan or inpaint)"
                wanted = "a completed grid"
            article = "an" if kind.value[0] in "aeiou" else "a"
            raise BadRequest(
                f"parent job must be {wanted}, not {article} {kind.value} job; {hint}",
                code="invalid_parent",
            )
        return ParentInfo(
            job_id=parent.id,
            action=kind,
            width=parent.width or 0,
            height=parent.height or 0,
            prompt=str(parent.params.get("prompt", "")),
        )

    def submit(
        self,
        caller: Caller,
        request: JobRequest,
        *,
        idempotency_key: str | None = None,
        request_hash: str = "",
        job_id: str | None = None,
        completed_result: dict[str, Any] | None = None,
        size: tuple[int, int] | None = None,
        validate: Any = None,
    ) -> Submitted:
        """Create a job and hold its cost in one transaction; replay an idempotent repeat.

        `validate(session, parent)` runs after the parent checks and before any credit is held,
        for checks that need the parent (an inpaint mask's size). `completed_result` creates the
        job already COMPLETED (imports).
        """
        for attempt in (1, 2):
            try:
                return self._submit_once(
                    caller,
                    request,
                    idempotency_key,
                    request_hash,
                    job_id or new_id(),
                    completed_result,
                    size,
                    validate,
                )
            except IntegrityError:
                # Two requests raced on one Idempotency-Key: the loser replays the winner's answer.
                if idempotency_key is None or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _submit_once(
        self,
        caller: Caller,
        request: JobRequest,
        idempotency_key: str | None,
        request_hash: str,
        job_id: str,
        completed_result: dict[str, Any] | None,
        size: tuple[int, int] | None,
        validate: Any,
    ) -> Submitted:
        with self.db.write() as session:
            if idempotency_key is not None:
                replay = self._replay(session, caller, idempotency_key, request_hash)
                if replay is not None:
                    return replay
            params = dict(request.params)
            if request.action.parent_kinds:
                parent = self.check_parent(session, caller, request)
                params.setdefault("prompt", parent.prompt)
                params["parentWidth"], params["parentHeight"] = parent.width, parent.height
                _check_canvas(request.action, params, parent, self.max_canvas_pixels)
                if validate is not None:
                    validate(session, parent)
            now = utcnow()
            status = JobStatus.COMPLETED if completed_result is not None else JobStatus.QUEUED
            session.execute(
                _INSERT_JOB,
                dict(
                    id=job_id,
                    team_id=caller.team_id,
                    api_key_id=caller.key_id,
                    action=request.action.value,
                    status=status.value,
                    parent_job_id=request.parent_job_id,
                    params=params,
                    progress=100 if completed_result is not None else 0,
                    result=completed_result,
                    credit_cost=request.action.cost,
                    webhook_url=request.webhook_url,
                    webhook_events=list(request.webhook_events or []) or None,
                    attempts=0,
                    created_at=now,
                    completed_at=now if completed_result is not None else None,
                    width=size[0] if size else None,
                    height=size[1] if size else None,
                ),
            )
            if request.action.cost:
                credits.hold(session, caller.team_id, job_id, request.action.cost)
                if completed_result is not None:
                    credits.post(session, caller.team_id, job_id)
            # A job born COMPLETED (an import) sends its completed event as any other does.
            queued = (
                completed_result is not None
                and request.webhook_url is not None
                and self._event(session, job_id, "completed")
            )
            code = 201 if completed_result is not None else 202
            body = {"jobId": job_id, "status": status.value}
            if idempotency_key is not None:
                session.execute(
                    _INSERT_IDEMPOTENCY,
                    dict(
                        team_id=caller.team_id,
                        key=idempotency_key,
                        request_hash=request_hash,
                        status_code=code,
                        response=body,
                        created_at=now,
                    ),
                )
        if queued:
            self._wake_senders()
        return Submitted(status_code=code, body=body, job_id=job_id, created=True)

    def _replay(
        self, session: Session, caller: Caller, key: str, request_hash: str
    ) -> Submitted | None:
        record = session.execute(_IDEMPOTENCY_BY_KEY, {"team": caller.team_id, "key": key}).first()
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise Conflict(
                "this Idempotency-Key was already used with a different request body; "
                "use a new key for a new request",
                code="idempotency_key_reused",
            )
        return Submitted(
            status_code=record.status_code,
            body=dict(record.response),
            job_id=str(record.response["jobId"]),
            created=False,
        )

    # --- read ---------------------------------------------------------------------------------

    # Reads return Core rows (same attribute names as Job): they sit on the hottest path.

    @staticmethod
    def get(conn: Connection | Session, team_id: str, job_id: str) -> dict[str, Any]:
        row = _JOB_BY_ID.first(conn, job_id=job_id)
        if row is None or row["team_id"] != team_id:
            raise NotFound(f"job {job_id} not found", code="job_not_found")
        return row

    @staticmethod
    def page(
        conn: Connection | Session,
        team_id: str,
        *,
        status: JobStatus | None,
        limit: int,
        cursor: int | None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Newest first; returns the page and the cursor of the next one (None at the end)."""
        query = select(*VIEW_COLUMNS).where(JOBS.c.team_id == team_id)
        if status is not None:
            query = query.where(JOBS.c.status == status.value)
        if cursor is not None:
            query = query.where(JOBS.c.seq < cursor)
        ordered = query.order_by(JOBS.c.seq.desc()).limit(limit + 1)
        rows = [dict(row) for row in conn.execute(ordered).mappings()]
        has_more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1]["seq"] if has_more and rows else None)

    # --- work ---------------------------------------------------------------------------------

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
            return Claim(
                job_id=job.id,
                token=token,
                team_id=job.team_id,
                action=Action(job.action),
                params=dict(job.params),
                parent_job_id=job.parent_job_id,
                attempt=job.attempts,
                has_webhook=bool(job.webhook_url),
            )

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
        if queued:
            self._wake_senders()
        return held

    def _event(self, session: Session, job_id: str, event: str) -> bool:
        return self.outbox is not None and self.outbox.job_event(session, job_id, event)

    def _wake_senders(self) -> None:
        if self.outbox is not None:
            self.outbox.wake()

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
        if queued:
            self._wake_senders()
        return True

    def fail(self, claim: Claim, error: str) -> bool:
        """Settle a job that cannot succeed: FAILED and its hold voided."""
        with self.db.write() as session:
            job = session.scalar(select(Job).where(*self._held(claim)))
            if job is None:
                return False
            queued = self._fail(session, job, error)
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
        log.warning("job %s failed: %s", job.id, error)
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
                    log.warning("job %s: worker lease expired, requeued", job.id)
                    job.status = JobStatus.QUEUED.value
                    job.lease_owner = None
                    job.lease_expires_at = None
                    job.progress = 0
        if queued:
            self._wake_senders()
        return changed
