"""`outframe serve`: uvicorn with the app, and a first-run welcome with a ready API key."""

from __future__ import annotations

import uvicorn
from sqlalchemy import func, select

from outframe.api.app import create_app
from outframe.core.config import Settings
from outframe.engines.base import Engine
from outframe.services import keys
from outframe.store.db import open_database
from outframe.store.models import ApiKey

WELCOME_CREDITS = 1000


def welcome(settings: Settings) -> str:
    """On a fresh data dir, create a starter key and say how to use it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url())
    base = settings.resolved_public_base_url()
    try:
        with db.write() as session:
            if session.scalar(select(func.count()).select_from(ApiKey)):
                return (
                    f"outframe on {base} (data in {settings.data_dir.resolve()})\n"
                    "create a key with: outframe keys create --name NAME --credits 1000"
                )
            _, plaintext = keys.create_key(
                session,
                name="starter",
                credits_=WELCOME_CREDITS,
                max_concurrent_jobs=settings.default_max_concurrent_jobs,
            )
    finally:
        db.dispose()
    return "\n".join(
        [
            f"outframe on {base} (data in {settings.data_dir.resolve()})",
            f"a starter API key with {WELCOME_CREDITS} credits (shown once, keep it):",
            f"  {plaintext}",
            "try it:",
            f"  curl -s -X POST {base}/v2/images/generate -H 'X-API-Key: {plaintext}' \\",
            "       -H 'Content-Type: application/json' -d '{\"prompt\": \"a lake at dawn\"}'",
            f"  curl -s {base}/v2/jobs/JOB_ID -H 'X-API-Key: {plaintext}'",
            f"API docs: {base}/docs",
        ]
    )


def serve(settings: Settings, engine: Engine | None = None) -> None:
    print(welcome(settings), flush=True)
    uvicorn.run(
        create_app(settings, engine=engine),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
