"""One log line per job transition (queued, processing, completed, failed, requeued), with the
job's id, action, team and the seconds the step took, as fields for OUTFRAME_LOG_FORMAT=json."""

from __future__ import annotations

import logging
from datetime import datetime

from outframe.services.clock import utcnow

log = logging.getLogger("outframe.jobs")


def seconds_since(moment: datetime | None) -> float | None:
    return None if moment is None else round((utcnow() - moment).total_seconds(), 3)


def transition(
    job_id: str,
    action: str,
    team_id: str,
    status: str,
    seconds: float | None = None,
    *,
    error: str | None = None,
    level: int = logging.INFO,
) -> None:
    """`status` is the job's new state; `seconds`, how long the state before it lasted."""
    took = "" if seconds is None else f" after {seconds:.2f} s"
    why = f": {error}" if error else ""
    log.log(
        level,
        "job %s %s: %s, team %s%s%s",
        job_id,
        status,
        action,
        team_id,
        took,
        why,
        extra={
            "job_id": job_id,
            "action": action,
            "team": team_id,
            "job_status": status,
            "seconds": seconds,
            "error": error,
        },
    )
