"""Sending one webhook request: the real SSRF-safe HTTP transport, and a fake for tests."""

from __future__ import annotations

import email.utils
import ssl
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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
    never followed and proxy variables are ignored: either would route around the check."""

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
        context = ssl.create_default_context()
        if ca_bundle is not None:
            context.load_verify_locations(cafile=str(ca_bundle))
        self.client = httpx.Client(
            verify=context,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
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
        try:
            with self.client.stream(
                "POST",
                pinned,
                content=body,
                headers={**headers, "Host": host_header},
                extensions={"sni_hostname": target.host},
            ) as response:
                # The body is not read: a receiver's answer is its status code.
                retry = parse_retry_after(response.headers.get("retry-after"))
                return Reply(status=response.status_code, retry_after=retry)
        except httpx.TimeoutException:
            return Reply(error="timed out")
        except httpx.HTTPError as exc:
            return Reply(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)

    def close(self) -> None:
        self.client.close()


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
