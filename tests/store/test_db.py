"""The database wrapper: fresh reads on the shared connection, prepared queries, writes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select

from outframe.services.clock import new_id, utcnow
from outframe.store.db import Database, PreparedQuery, open_database
from outframe.store.models import TEAMS, Team


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(f"sqlite:///{tmp_path / 'x.db'}")


def _team(db: Database, credits: int) -> None:
    with db.write() as session:
        session.add(
            Team(id=new_id(), name="t", credits=credits, max_concurrent_jobs=1, created_at=utcnow())
        )


def test_inline_reads_see_every_committed_write(db: Database) -> None:
    """The request path reads on one long-lived connection: it must never hold a snapshot."""
    query = PreparedQuery(select(TEAMS.c.credits).where(TEAMS.c.name == bindparam("name")))

    async def read() -> int | None:
        row = await db.read(lambda conn: query.first(conn, name="t"))
        return None if row is None else int(row["credits"])

    assert asyncio.run(read()) is None
    _team(db, 5)
    assert asyncio.run(read()) == 5
    with db.write() as session:
        session.execute(TEAMS.update().values(credits=7))
    assert asyncio.run(read()) == 7


def test_prepared_query_converts_types(db: Database) -> None:
    _team(db, 3)
    query = PreparedQuery(select(TEAMS.c.created_at, TEAMS.c.credits))
    with db.engine.connect() as conn:
        row = query.first(conn)
    assert row is not None and row["credits"] == 3
    assert row["created_at"].tzinfo is not None  # a datetime, in UTC, as the ORM gives it


def test_failed_write_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        session.execute(
            TEAMS.insert().values(
                id="x", name="gone", credits=1, max_concurrent_jobs=1, created_at=utcnow()
            )
        )
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.scalar(select(TEAMS.c.id).where(TEAMS.c.name == "gone")) is None
