"""A reverse proxy in front of a real server, for what a network or an older server does: drop a
connection after the server has answered, or have no event stream."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Proxy:
    """`drop_posts`: how many POSTs get no answer (the server gets and runs them; the client's
    connection is closed before the answer). `hide_events`: GET .../events is a 404, as on a
    server without the event stream (apiframe's hosted API)."""

    def __init__(self, upstream: str, *, drop_posts: int = 0, hide_events: bool = False) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=30)
        self.drop_posts = drop_posts
        self.hide_events = hide_events
        self.seen: list[tuple[str, str, int | None]] = []  # method, path, status (None: dropped)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Proxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.upstream.close()

    def paths(self, method: str, path: str) -> list[int | None]:
        """The statuses of the requests seen for this method and path."""
        with self._lock:
            return [status for m, p, status in self.seen if (m, p) == (method, path)]

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        if self.hide_events and path.split("?")[0].endswith("/events"):
            self._record(method, path, 404)
            return 404, {"content-type": "application/json"}, b'{"error":"Not Found","code":"x"}'
        response = self.upstream.request(method, path, headers=headers, content=body)
        with self._lock:
            drop = method == "POST" and self.drop_posts > 0
            self.drop_posts -= drop
        self._record(method, path, None if drop else response.status_code)
        if drop:
            return None
        kept = {k: v for k, v in response.headers.items() if k.lower() not in HOP_HEADERS}
        return response.status_code, kept, response.content

    def _record(self, method: str, path: str, status: int | None) -> None:
        with self._lock:
            self.seen.append((method, path.split("?")[0], status))


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            answer = proxy.forward(self.command, self.path, headers, body)
            if answer is None:  # the server has answered; the client never hears it
                self.close_connection = True
                return
            status, response_headers, content = answer
            self.send_response(status)
            for name, value in response_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _relay

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
