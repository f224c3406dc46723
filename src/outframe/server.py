"""`outframe serve`: uvicorn with the app, and a first-run welcome with a ready API key."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from outframe.api.app import create_app
from outframe.api.headtimeout import HeadTimeoutProtocol
from outframe.core.config import Settings
from outframe.engines.base import Engine
from outframe.services import keys
from outframe.store.db import open_database
from outframe.store.models import ApiKey

WELCOME_CREDITS = 1000


def command_name() -> str:
    """How a shell reaches this `outframe`: the bare name where PATH finds it, else its path
    (scripts/serve runs it from .venv, which is not on PATH)."""
    here = Path(sys.executable).parent / "outframe"
    found = shutil.which("outframe")
    if found and here.exists() and Path(found).resolve() == here.resolve():
        return "outframe"
    return str(here) if here.exists() else "outframe"


def _reach(command: str) -> list[str]:
    if command == "outframe":
        return []
    activate = Path(command).parent / "activate"
    return [f"(the outframe command is {command}; `source {activate}` puts it on PATH)"]


def welcome(settings: Settings) -> str:
    """On a fresh data dir, create a starter key and say how to use it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url())
    base = settings.resolved_public_base_url()
    cmd = command_name()
    try:
        with db.write() as session:
            if session.scalar(select(func.count()).select_from(ApiKey)):
                return "\n".join(
                    [
                        f"outframe on {base} (data in {settings.data_dir.resolve()}); "
                        f"playground at {base}/",
                        f"create a key with: {cmd} keys create --name NAME --credits 1000",
                        *_reach(cmd),
                    ]
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
            "try it (generate, upsample image 2, zoom out 2x; README: Try it):",
            f"  export OUTFRAME_URL={base} OUTFRAME_KEY={plaintext}",
            f'  {cmd} imagine "a lake at dawn" --wait --pick 2 --zoom 2',
            *_reach(cmd),
            "or with curl:",
            f"  curl -s -X POST {base}/v2/images/generate -H 'X-API-Key: {plaintext}' \\",
            "       -H 'Content-Type: application/json' -d '{\"prompt\": \"a lake at dawn\"}'",
            f"  curl -s {base}/v2/jobs/JOB_ID -H 'X-API-Key: {plaintext}'",
            f"playground: {base}/ (paste the key there)",
            f"API docs: {base}/docs",
        ]
    )


def uvicorn_config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    """How `outframe serve` runs the app (the tests that need real HTTP run it so too)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=HeadTimeoutProtocol.with_timeout(settings.request_head_timeout_seconds),
        log_level="warning",
        log_config=None,  # outframe's own (OUTFRAME_LOG_LEVEL / OUTFRAME_LOG_FORMAT)
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def serve(settings: Settings, engine: Engine | None = None) -> None:
    print(welcome(settings), flush=True)
    server = uvicorn.Server(uvicorn_config(settings, create_app(settings, engine=engine)))
    server.run()
    if not server.started:
        raise SystemExit(3)  # start-up failed (uvicorn has logged why), as uvicorn.run exits
