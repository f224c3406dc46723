"""Alembic environment: runs against the URL that store.db.migrate() sets."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from outframe.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "store.db.migrate() sets sqlalchemy.url"

connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several nodes may start at once: one migrates, the others wait and find it done.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4242010101)")
        context.run_migrations()
connectable.dispose()
