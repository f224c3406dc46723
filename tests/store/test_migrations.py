"""Migrations: several nodes starting at once on PostgreSQL, and a full downgrade/upgrade."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from outframe.store.db import MIGRATIONS_DIR, migrate
from tests.backends import fresh_postgres_database


@pytest.mark.postgres
def test_concurrent_start_up_migrations_on_postgres() -> None:
    with fresh_postgres_database() as url:
        code = f"from outframe.store.db import migrate; migrate({url!r})"
        procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
        engine = create_engine(url)
        try:
            assert {"jobs", "ledger", "webhook_deliveries"} <= set(
                inspect(engine).get_table_names()
            )
        finally:
            engine.dispose()


def test_downgrade_and_upgrade_round_trip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    command.downgrade(cfg, "base")
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(url)
        assert "webhook_attempts" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
