"""Credits: an append-only ledger and a spendable balance kept beside it in the same transaction.

A job's cost is held at submit (balance down), posted when it completes (balance unchanged) or
voided when it fails (balance back up). The unique (job_id, kind) constraint makes a second post
or void impossible, so a retried settlement can never charge or refund twice.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from outframe.services.clock import utcnow
from outframe.services.errors import BadRequest, NotFound, PaymentRequired
from outframe.store.models import LedgerEntry, Team


def _append(session: Session, team_id: str, kind: str, amount: int, job_id: str | None) -> None:
    session.add(
        LedgerEntry(team_id=team_id, job_id=job_id, kind=kind, amount=amount, created_at=utcnow())
    )


def grant(session: Session, team_id: str, amount: int) -> int:
    """Add credits to a team; returns the new balance."""
    if amount <= 0:
        raise BadRequest("a grant must be a positive number of credits")
    result = session.execute(
        update(Team).where(Team.id == team_id).values(credits=Team.credits + amount)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"no team with id {team_id}")
    _append(session, team_id, "grant", amount, None)
    return balance(session, team_id)


def hold(session: Session, team_id: str, job_id: str, cost: int) -> None:
    """Take a job's cost from the balance, or raise 402 if it is short."""
    result = session.execute(
        update(Team)
        .where(Team.id == team_id, Team.credits >= cost)
        .values(credits=Team.credits - cost)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        have = balance(session, team_id)
        raise PaymentRequired(
            f"insufficient credits: this job costs {cost}, the balance is {have}",
            balance=have,
            cost=cost,
        )
    _append(session, team_id, "hold", -cost, job_id)


def post(session: Session, team_id: str, job_id: str) -> None:
    _append(session, team_id, "post", 0, job_id)


def void(session: Session, team_id: str, job_id: str, cost: int) -> None:
    session.execute(update(Team).where(Team.id == team_id).values(credits=Team.credits + cost))
    _append(session, team_id, "void", cost, job_id)


def balance(session: Session, team_id: str) -> int:
    value = session.scalar(select(Team.credits).where(Team.id == team_id))
    if value is None:
        raise NotFound(f"no team with id {team_id}")
    return value


def ledger_sum(session: Session, team_id: str) -> int:
    """What the ledger says the balance is; always equal to balance() (checked by tests)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.team_id == team_id
            )
        )
        or 0
    )
