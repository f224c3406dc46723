"""Submitting a job: parent checks, the credit hold and Idempotency-Key replays, in one
transaction with the new job row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outframe.imaging import canvas
from outframe.services import credits, joblog, quota
from outframe.services.clock import new_id, utcnow
from outframe.services.domain import Action, JobStatus
from outframe.services.errors import BadRequest, Conflict, NotFound
from outframe.services.jobstore import JobStore
from outframe.services.keys import Caller
from outframe.store.models import IDEMPOTENCY, JOBS

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
IDEMPOTENCY_TTL = timedelta(hours=24)
_THIS_KEY = (IDEMPOTENCY.c.team_id == bindparam("team"), IDEMPOTENCY.c.key == bindparam("key"))
_IDEMPOTENCY_BY_KEY = select(
    IDEMPOTENCY.c.request_hash,
    IDEMPOTENCY.c.status_code,
    IDEMPOTENCY.c.response,
    IDEMPOTENCY.c.created_at,
).where(*_THIS_KEY)
_FORGET_IDEMPOTENCY = delete(IDEMPOTENCY).where(*_THIS_KEY)


@dataclass(frozen=True)
class JobRequest:
    """A validated submission; `params` holds the action's own fields (prompt, index, ...)."""

    action: Action
    params: dict[str, Any] = field(default_factory=dict)
    parent_job_id: str | None = None
    webhook_url: str | None = None
    webhook_events: Sequence[str] | None = None
    input: dict[str, Any] | None = None  # what the client sent, shown as the job's `input`
    # Credits from the job's final params, where not the action's flat cost (a video's, by its
    # length and size, known once its chain is walked).
    price: Callable[[dict[str, Any]], int] | None = None


@dataclass(frozen=True)
class Submitted:
    status_code: int
    body: dict[str, Any]
    job_id: str
    created: bool  # False when an Idempotency-Key replayed an earlier answer


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
    if action is Action.OUTPAINT and float(params["zoomRatio"]) == 1:
        if width == height:
            raise BadRequest(
                f"zoom_ratio 1 is Make Square, and the {width}x{height} image is square already",
                code="invalid_request",
            )
        size = (max(width, height), max(width, height))
    elif action is Action.OUTPAINT:
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


class JobSubmission(JobStore):
    """Creating jobs (QUEUED, or COMPLETED at once for imports)."""

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
        if parent.status in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
            raise BadRequest(
                f"parent job {parent.status}, so it has no images to work from; "
                "use a completed job",
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
            if request.action is Action.VIDEO:
                hint = "pass the upsample (or import) that ends a chain of zoom-outs"
                wanted = "a completed upsample or import"
            elif request.action.makes_grid:
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
        stored_bytes: int | None = None,
    ) -> Submitted:
        """Create a job and hold its cost in one transaction; replay an idempotent repeat.

        `validate(session, parent)` runs after the parent checks and before any credit is held,
        for checks that need the parent (an inpaint mask's size); a dict it returns is added
        to the job's params. `completed_result` creates the
        job already COMPLETED (imports); `stored_bytes`, what it keeps in storage, counts
        against the team's import quota.
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
                    stored_bytes,
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
        stored_bytes: int | None,
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
                if request.action is Action.OUTPAINT and parent.width and parent.height:
                    # Recorded exactly, for what is made of the chain later (a zoom video).
                    where = canvas.outpaint_placement(
                        parent.width, parent.height, float(params["zoomRatio"])
                    )
                    params["placement"] = where.as_list()
                if validate is not None:
                    params.update(validate(session, parent) or {})
            if stored_bytes is not None:
                quota.check(
                    session,
                    caller.team_id,
                    self.import_quota_bytes,
                    stored_bytes,
                    lock=self.db.is_postgres,
                )
            cost = request.action.cost if request.price is None else request.price(params)
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
                    input=request.input,
                    progress=100 if completed_result is not None else 0,
                    result=completed_result,
                    credit_cost=cost,
                    webhook_url=request.webhook_url,
                    webhook_events=list(request.webhook_events or []) or None,
                    attempts=0,
                    created_at=now,
                    completed_at=now if completed_result is not None else None,
                    width=size[0] if size else None,
                    height=size[1] if size else None,
                    stored_bytes=stored_bytes,
                ),
            )
            if cost:
                credits.hold(session, caller.team_id, job_id, cost)
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
        joblog.transition(job_id, request.action.value, caller.team_id, status.value)
        if queued:
            self._wake_senders()
        return Submitted(status_code=code, body=body, job_id=job_id, created=True)

    def _replay(
        self, session: Session, caller: Caller, key: str, request_hash: str
    ) -> Submitted | None:
        record = session.execute(_IDEMPOTENCY_BY_KEY, {"team": caller.team_id, "key": key}).first()
        if record is None:
            return None
        if record.created_at < utcnow() - IDEMPOTENCY_TTL:
            # Remembered for 24 hours, as apiframe: after that the key is new again.
            session.execute(_FORGET_IDEMPOTENCY, {"team": caller.team_id, "key": key})
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
