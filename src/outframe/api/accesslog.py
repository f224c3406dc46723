"""One INFO line per request: method, path, status, milliseconds and the request id.

The path only, never the query string or a header: nothing that could hold an API key. Pure
ASGI and outermost but for RequestId, so it sees every answer (the body limit's 413s, JSON 500s)
and times a streamed body to its end."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outframe.api.requestid import request_id_of

log = logging.getLogger("outframe.requests")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the server answers if the app raises before it starts a response
        logged = False

        def line() -> None:
            nonlocal logged
            logged = True
            ms = round((time.perf_counter() - start) * 1000, 1)
            method, path = scope["method"], scope["path"]
            request_id = request_id_of(scope) or "-"
            log.info(
                "%s %s %d %.1f ms %s",
                method,
                path,
                status,
                ms,
                request_id,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "ms": ms,
                    "request_id": request_id,
                },
            )

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Before the last bytes go: a client that has its answer finds the line logged.
                line()
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if not logged:  # the app raised, or the client left mid-stream
                line()
