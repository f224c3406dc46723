"""The app under uvicorn, configured as `outframe serve` runs it, in a thread of the test process
(so that the test can read its log records): for what needs real connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from outframe.api.app import create_app
from outframe.core.config import Settings
from outframe.server import uvicorn_config
from outframe.services import keys
from tests.e2e.server import free_port


@dataclass
class Live:
    url: str
    port: int
    app: FastAPI

    def key(self, credits: int = 1000) -> str:
        """A new API key on this server."""
        services = self.app.state.services
        with services.db.write() as session:
            _, plaintext = keys.create_key(session, name="live", credits_=credits)
        return plaintext


@contextmanager
def live_server(settings: Settings, **parts: Any) -> Iterator[Live]:
    """Serve on a free loopback port; `parts` go to create_app (a resolver, ...)."""
    settings = settings.model_copy(update={"port": free_port(), "host": "127.0.0.1"})
    app = create_app(settings, **parts)
    server = uvicorn.Server(uvicorn_config(settings, app))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:  # (uvicorn sets it once it listens; it has no event to await)
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield Live(f"http://127.0.0.1:{settings.port}", settings.port, app)
    finally:
        server.should_exit = True
        thread.join(30)
