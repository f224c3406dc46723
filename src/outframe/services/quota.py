"""The per-team import quota: imports cost no credits, so what a team may keep of them in
storage is capped by bytes instead (OUTFRAME_IMPORT_QUOTA_BYTES)."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from outframe.services.errors import PayloadTooLarge
from outframe.store.models import JOBS, TEAMS

# Imports whose images retention has not yet deleted.
_KEPT = select(func.coalesce(func.sum(JOBS.c.stored_bytes), 0)).where(
    JOBS.c.team_id == bindparam("team"),
    JOBS.c.stored_bytes.is_not(None),
    JOBS.c.images_purged_at.is_(None),
)
_LOCK_TEAM = select(TEAMS.c.id).where(TEAMS.c.id == bindparam("team")).with_for_update()


def kept_bytes(conn: Connection | Session, team_id: str) -> int:
    return int(conn.execute(_KEPT, {"team": team_id}).scalar_one())


def check(
    conn: Connection | Session,
    team_id: str,
    quota: int,
    adding: int | None = None,
    *,
    lock: bool = False,
) -> None:
    """413 if `adding` more bytes would take the team past `quota` (0: no quota); with `adding`
    not yet known, only a team already at its quota. `lock` takes the team's row first
    (PostgreSQL), so that two imports at once cannot both pass."""
    if not quota:
        return
    if lock:
        conn.execute(_LOCK_TEAM, {"team": team_id})
    kept = kept_bytes(conn, team_id)
    if kept + (adding or 0) > quota or (adding is None and kept >= quota):
        needs = f" and this one needs {adding} more" if adding is not None else ""
        raise PayloadTooLarge(
            f"this team's imported images take {kept} of its {quota} bytes "
            f"(OUTFRAME_IMPORT_QUOTA_BYTES){needs}; imports are deleted with the retention "
            "period (OUTFRAME_RETENTION_DAYS), or ask the operator for a larger quota",
            code="storage_quota_exceeded",
            quotaBytes=quota,
            usedBytes=kept,
        )
