"""Real services for the tests that need them: a fresh PostgreSQL database per test, Redis,
S3 (moto's server). Each skips with the command that starts the service where it is absent."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES_URL = os.environ.get(
    "OUTFRAME_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("OUTFRAME_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("OUTFRAME_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = (
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if not _reachable("127.0.0.1", 5432):
        pytest.skip(f"PostgreSQL is not running on 127.0.0.1:5432; start it: {START_POSTGRES}")


def require_rabbitmq() -> None:
    if not _reachable("127.0.0.1", 5672):
        pytest.skip(
            "RabbitMQ is not running on 127.0.0.1:5672; start it: rabbitmq-server -detached"
        )


def require_redis() -> None:
    if not _reachable("127.0.0.1", 6379):
        pytest.skip(f"Redis is not running on 127.0.0.1:6379; start it: {START_REDIS}")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    require_postgres()
    import psycopg

    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"outframe_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
