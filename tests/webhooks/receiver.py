"""A real HTTPS webhook receiver on loopback, with a certificate made for the test."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()
    wall: float  # time.time(), to compare with timestamps other processes wrote


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: threading.Event | None = None  # wait for this before answering
    drip: float | None = None  # send the headers a byte every this many seconds, never ending


Script = Callable[[str, int], Answer]  # (path, how many requests that path had) -> answer


class Receiver:
    """Records every request; answers from `script`. Use as a context manager."""

    def __init__(self, ca: trustme.CA, script: Script | None = None, port: int = 0) -> None:
        self.received: list[Received] = []
        self.script: Script = script or (lambda _path, _n: Answer())
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.arrived:
                    receiver.received.append(
                        Received(
                            self.path,
                            dict(self.headers.items()),
                            body,
                            time.monotonic(),
                            time.time(),
                        )
                    )
                    count = sum(1 for r in receiver.received if r.path == self.path)
                    receiver.arrived.notify_all()
                answer = receiver.script(self.path, count)
                if answer.hang is not None:
                    answer.hang.wait(60)
                if answer.drip is not None:
                    self._drip(answer.drip)
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _drip(self, every: float) -> None:
                """A slow-loris answer: a status line, then header bytes trickling out."""
                self.close_connection = True
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    for _ in range(int(60 / every)):
                        self.wfile.write(b"z")
                        self.wfile.flush()
                        time.sleep(every)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost", "hooks.test").configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, path: str | None = None, timeout: float = 30) -> list[Received]:
        """Block until `count` requests (to `path`, if given) have arrived."""

        def matching() -> list[Received]:
            return [r for r in self.received if path is None or r.path == path]

        with self.arrived:
            if not self.arrived.wait_for(lambda: len(matching()) >= count, timeout):
                raise AssertionError(f"{len(matching())} of {count} webhooks arrived")
            return matching()


def write_ca(ca: trustme.CA, directory: Path) -> Path:
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path
