"""The database: engine, sessions, write transactions, fast point reads and migrations."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Dialect, Select, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
T = TypeVar("T")


class Database:
    """One per process. SQLite (the embedded default) and PostgreSQL behave the same to callers.

    SQLite specifics, and why: WAL so readers never wait for the writer; BEGIN IMMEDIATE for
    writers so a read-then-write never dies with "database is locked"; and an in-process lock
    around write transactions, because threads that queue on a lock are served in order, while
    threads that collide inside SQLite back off in sleeps of up to 100 ms.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgresql")
        if self.is_sqlite:
            self.engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=16,
                max_overflow=48,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(url, pool_size=16, max_overflow=48, pool_pre_ping=True)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self.is_sqlite else contextlib.nullcontext()
        )
        self._hot: Connection | None = None

    def session(self) -> Session:
        """A session for reads (use as a context manager)."""
        return self.sessions()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on success and rolled back on error."""
        with self._write_lock, self.sessions() as session:
            if self.is_sqlite:
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    async def read(self, query: Callable[[Connection], T]) -> T:
        """Run a small read on the request path.

        On SQLite the read runs inline on the event loop, on one autocommit connection: a point
        lookup takes tens of microseconds, less than a hop to the thread pool would. Elsewhere
        it runs on a pooled connection in the thread pool, as any blocking I/O must.
        """
        if self.is_sqlite:
            if self._hot is None:
                self._hot = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return query(self._hot)
        return await run_in_threadpool(self._pooled_read, query)

    def _pooled_read(self, query: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return query(conn)

    def dispose(self) -> None:
        if self._hot is not None:
            self._hot.close()
            self._hot = None
        self.engine.dispose()


class PreparedQuery:
    """A SELECT compiled once, run straight on the driver's cursor, its values converted by
    SQLAlchemy's own type processors: a third of the cost of Connection.execute, for the few
    queries that every request runs."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self.names = [str(col.key) for col in statement.selected_columns]
        self._compiled: dict[str, tuple[str, list[str] | None, list[Any]]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, list[str] | None, list[Any]]:
        compiled = self.statement.compile(dialect=dialect)
        positions = list(compiled.positiontup or []) if dialect.positional else None
        processors = [
            col.type._cached_result_processor(dialect, None)
            for col in self.statement.selected_columns
        ]
        return str(compiled), positions, processors

    def first(self, conn: Connection | Session, **params: Any) -> dict[str, Any] | None:
        """The first row as a dict of column name to value, or None."""
        if isinstance(conn, Session):
            conn = conn.connection()
        dialect = conn.dialect
        if dialect.name not in self._compiled:
            self._compiled[dialect.name] = self._compile(dialect)
        sql, positions, processors = self._compiled[dialect.name]
        args: Any = tuple(params[n] for n in positions) if positions is not None else params
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, args)
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        return {
            name: (proc(value) if proc else value)
            for name, proc, value in zip(self.names, processors, row, strict=True)
        }


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver stays out of it; BEGIN is ours (below)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # each statement is its own transaction: never a stale snapshot
    conn.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")


def open_database(url: str) -> Database:
    """Migrate the schema to the newest revision, then open the database."""
    migrate(url)
    return Database(url)


def migrate(url: str) -> None:
    """Bring the schema to the newest Alembic revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")
