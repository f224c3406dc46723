"""x-request-id: every response carries one, the caller's where it sent a usable one.

The id is kept in the request's scope (`scope["state"]["request_id"]`, i.e. `request.state`) and
in a context variable, so that log lines and the error handlers can name it without being passed
it; the handler of unexpected errors runs outside every middleware and adds the header itself.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_HEADER = HEADER.encode()
# What a caller may send: printable ASCII without spaces, as proxies and tracing systems make.
# Anything else (too long, control characters) is replaced, not echoed into our headers and logs.
_USABLE = re.compile(rb"[!-~]{1,200}")

current_request_id: ContextVar[str | None] = ContextVar("outframe_request_id", default=None)


def _choose(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _HEADER and _USABLE.fullmatch(value):
            return bytes(value).decode("ascii")
    return uuid.uuid4().hex


def request_id_of(scope: Scope) -> str | None:
    """The id RequestId gave this request (None outside it)."""
    state = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


class RequestId:
    """Pure ASGI (no BaseHTTPMiddleware): it must see every response, 413s from the body limit
    and streamed bodies included, without buffering them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _choose(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)
        header = (_HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != _HEADER]
                message["headers"] = [*headers, header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
