"""The job service: every read and write of jobs goes through it; routes and workers call it.

Its halves live apart: `submit` (parent checks, credit hold, idempotency) and `lifecycle`
(claim, progress, complete, fail, reap). Reads are here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.orm import Session

from outframe.services.domain import Action, JobStatus
from outframe.services.errors import BadRequest, NotFound
from outframe.services.lifecycle import Claim, JobLifecycle
from outframe.services.submit import JobRequest, JobSubmission, ParentInfo, Submitted
from outframe.services.views import V1_TASK_TYPES
from outframe.store.db import PreparedQuery
from outframe.store.models import JOBS

__all__ = ["Claim", "JobRequest", "JobService", "ParentInfo", "Submitted"]

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
        "input",
        "images_purged_at",
    )
]
_JOB_BY_ID = PreparedQuery(select(*VIEW_COLUMNS).where(JOBS.c.id == bindparam("job_id")))


class JobService(JobSubmission, JobLifecycle):
    """Submit, lifecycle and reads of jobs."""

    # Reads return Core rows (same attribute names as Job): they sit on the hottest path.

    @staticmethod
    def get(conn: Connection | Session, team_id: str, job_id: str) -> dict[str, Any]:
        row = _JOB_BY_ID.first(conn, job_id=job_id)
        if row is None or row["team_id"] != team_id:
            raise NotFound(f"job {job_id} not found", code="job_not_found")
        return row

    @staticmethod
    def reroll_of(conn: Connection | Session, team_id: str, job_id: str) -> tuple[str, str]:
        """The prompt and aspect ratio a reroll of this grid job generates again (apiframe v1)."""
        row = conn.execute(
            select(JOBS.c.team_id, JOBS.c.action, JOBS.c.params).where(JOBS.c.id == job_id)
        ).one_or_none()
        if row is None or row.team_id != team_id:
            raise NotFound(f"parent job {job_id} not found", code="parent_not_found")
        if not Action(row.action).makes_grid:
            raise BadRequest(
                f"a reroll takes a grid job (imagine, variations, outpaint, pan, inpaint), not "
                f"{V1_TASK_TYPES.get(row.action, row.action)}",
                code="invalid_parent",
            )
        return str(row.params.get("prompt", "")), str(row.params.get("aspectRatio", "1:1"))

    def count_images(self, conn: Connection | Session, team_id: str) -> int:
        """Images the team's completed jobs made (four per grid), for apiframe v1's /account."""
        rows = conn.execute(
            select(JOBS.c.action, func.count())
            .where(JOBS.c.team_id == team_id, JOBS.c.status == JobStatus.COMPLETED.value)
            .group_by(JOBS.c.action)
        )
        per_job = {Action.VIDEO: 0}  # a video is no image
        return sum(
            n * per_job.get(Action(action), 4 if Action(action).makes_grid else 1)
            for action, n in rows
        )

    @staticmethod
    def page(
        conn: Connection | Session,
        team_id: str,
        *,
        status: JobStatus | None,
        limit: int,
        cursor: int | None,
        key_id: str | None = None,
        search: str | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Newest first; returns the page and the cursor of the next one (None at the end).
        `key_id`: only the jobs that key made; `search`: the job of that id and its children."""
        query = select(*VIEW_COLUMNS).where(JOBS.c.team_id == team_id)
        if key_id is not None:
            query = query.where(JOBS.c.api_key_id == key_id)
        if search is not None:
            query = query.where(or_(JOBS.c.id == search, JOBS.c.parent_job_id == search))
        if status is not None:
            query = query.where(JOBS.c.status == status.value)
        if cursor is not None:
            query = query.where(JOBS.c.seq < cursor)
        ordered = query.order_by(JOBS.c.seq.desc()).limit(limit + 1)
        rows = [dict(row) for row in conn.execute(ordered).mappings()]
        has_more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1]["seq"] if has_more and rows else None)
