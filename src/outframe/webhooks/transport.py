"""Sending one webhook request: the real SSRF-safe HTTP transport, and a fake for tests."""

from __future__ import annotations

import contextlib
import email.utils
import socket
import ssl
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from outframe.webhooks.addresses import AddressPolicy, AddressRefused
from outframe.webhooks.urls import parse_target


@dataclass(frozen=True)
class Reply:
    """What one attempt got: an HTTP status, or an error that prevented one."""

    status: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, from a 429 or 503's Retry-After


class WebhookTransport(ABC):
    @abstractmethod
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        """POST body to url once; never raises for network or HTTP trouble."""

    def close(self) -> None:
        """Release connections."""


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class HttpTransport(WebhookTransport):
    """HTTPS out, with the address checked at every attempt and the connection made to exactly
    the address that was checked (the Host header and TLS name stay the URL's). Redirects are
    never followed and proxy variables are ignored: either would route around the check.

    `timeout` bounds the whole attempt, not only each network operation (httpx's own timeouts
    are per read, so a receiver that drips its answer a byte at a time would never trip them):
    every attempt has its own connection, and a watchdog shuts its socket down at the deadline.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        allow_http: bool,
        timeout: float,
        ca_bundle: Path | None = None,
    ) -> None:
        self.policy = policy
        self.allow_http = allow_http
        self.timeout = timeout
        context = ssl.create_default_context()
        if ca_bundle is not None:
            context.load_verify_locations(cafile=str(ca_bundle))
        self.client = httpx.Client(
            verify=context,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            # No connection is kept for reuse: each attempt's own is the one the watchdog can cut.
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=0),
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        try:
            target = parse_target(url, allow_http=self.allow_http)
            address = self.policy.resolve(target.host, target.port)[0]
        except (ValueError, AddressRefused) as exc:
            return Reply(error=str(exc))
        pinned = httpx.URL(url).copy_with(host=str(address))
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
        if ":" in target.host and target.port != default_port:
            host_header = f"[{target.host}]:{target.port}"
        watchdog = _Watchdog(self.timeout)
        try:
            with self.client.stream(
                "POST",
                pinned,
                content=body,
                headers={**headers, "Host": host_header},
                extensions={"sni_hostname": target.host, "trace": watchdog.trace},
            ) as response:
                # The body is not read: a receiver's answer is its status code.
                retry = parse_retry_after(response.headers.get("retry-after"))
                return Reply(status=response.status_code, retry_after=retry)
        except httpx.HTTPError as exc:
            if watchdog.fired or isinstance(exc, httpx.TimeoutException):
                return Reply(error=f"timed out: no answer within {self.timeout:g} s")
            return Reply(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        finally:
            watchdog.cancel()

    def close(self) -> None:
        self.client.close()


class _Watchdog:
    """Shuts the attempt's socket down once `seconds` have passed, which ends a read blocked on
    it at once (closing it from another thread would not)."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: note the socket as soon as it is connected, and again once TLS
        wraps it (the wrapping takes over the plain socket's file descriptor)."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            with self._lock:
                self._socket = info["return_value"].get_extra_info("socket")
                if self.fired:
                    self._shutdown()

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


@dataclass
class Sent:
    url: str
    body: bytes
    headers: dict[str, str]
    at: float


class RecordingTransport(WebhookTransport):
    """Records every request and answers from a script (a function of the request count)."""

    def __init__(self, answer: Callable[[int], Reply] | None = None) -> None:
        self.sent: list[Sent] = []
        self.answer = answer or (lambda _: Reply(status=200))
        self._lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.sent.append(Sent(url, body, headers, time.monotonic()))
            n = len(self.sent)
        return self.answer(n)
