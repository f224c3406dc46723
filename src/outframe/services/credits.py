"""Credits: an append-only ledger and a spendable balance kept beside it in the same transaction.

A job's cost is held at submit (balance down), posted when it completes (balance unchanged) or
voided when it fails (balance back up). The unique (job_id, kind) constraint makes a second post
or void impossible, so a retried settlement can never charge or refund twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from outframe.services.clock import utcnow
from outframe.services.errors import BadRequest, NotFound, PaymentRequired
from outframe.store.models import LEDGER, TEAMS

# Built once: every submit and every settlement runs them.
_ADD = (
    update(TEAMS)
    .where(TEAMS.c.id == bindparam("team"))
    .values(credits=TEAMS.c.credits + bindparam("amount"))
)
_TAKE = (
    update(TEAMS)
    .where(TEAMS.c.id == bindparam("team"), TEAMS.c.credits >= bindparam("amount"))
    .values(credits=TEAMS.c.credits - bindparam("amount"))
)
_APPEND = insert(LEDGER)
_BALANCE = select(TEAMS.c.credits).where(TEAMS.c.id == bindparam("team"))


def _changed(session: Session, statement: Any, team_id: str, amount: int) -> bool:
    result = session.execute(statement, {"team": team_id, "amount": amount})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _append(session: Session, team_id: str, kind: str, amount: int, job_id: str | None) -> None:
    row = {"team_id": team_id, "job_id": job_id, "kind": kind, "amount": amount}
    session.execute(_APPEND, {**row, "created_at": utcnow()})


def grant(session: Session, team_id: str, amount: int) -> int:
    """Add credits to a team; returns the new balance."""
    if amount <= 0:
        raise BadRequest("a grant must be a positive number of credits")
    if not _changed(session, _ADD, team_id, amount):
        raise NotFound(f"no team with id {team_id}")
    _append(session, team_id, "grant", amount, None)
    return balance(session, team_id)


def hold(session: Session, team_id: str, job_id: str, cost: int) -> None:
    """Take a job's cost from the balance, or raise 402 if it is short."""
    if not _changed(session, _TAKE, team_id, cost):
        have = balance(session, team_id)
        # The message is apiframe's exact one (its OpenAPI document has it as an enum); the
        # numbers say the rest, under apiframe's names and outframe's older ones.
        raise PaymentRequired(
            "Insufficient credits",
            creditsRequired=cost,
            creditsAvailable=max(0, have),
            balance=have,
            cost=cost,
        )
    _append(session, team_id, "hold", -cost, job_id)


def post(session: Session, team_id: str, job_id: str) -> None:
    _append(session, team_id, "post", 0, job_id)


def void(session: Session, team_id: str, job_id: str, cost: int) -> None:
    _changed(session, _ADD, team_id, cost)
    _append(session, team_id, "void", cost, job_id)


def balance(session: Session, team_id: str) -> int:
    value = session.execute(_BALANCE, {"team": team_id}).scalar()
    if value is None:
        raise NotFound(f"no team with id {team_id}")
    return int(value)


def ledger_sum(session: Session, team_id: str) -> int:
    """What the ledger says the balance is; always equal to balance() (checked by tests)."""
    total = session.scalar(
        select(func.coalesce(func.sum(LEDGER.c.amount), 0)).where(LEDGER.c.team_id == team_id)
    )
    return int(total or 0)
