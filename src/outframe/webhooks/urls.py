"""Checking a webhookUrl and its events at submit, with reasons a client can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from outframe.services.errors import BadRequest
from outframe.webhooks.addresses import AddressPolicy, AddressRefused

EVENTS = ("progress", "completed", "failed")
DEFAULT_EVENTS = ("completed", "failed")
MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int


def parse_target(url: str, *, allow_http: bool) -> Target:
    """Split a webhook URL, refusing what may never be sent to (ValueError says why)."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"webhookUrl is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"webhookUrl is not a valid URL: {exc}") from exc
    if parts.scheme not in ("https", "http"):
        raise ValueError("webhookUrl must be an https:// URL")
    if parts.scheme == "http" and not allow_http:
        raise ValueError(
            "webhookUrl must use https:// (plain http is allowed only with "
            "OUTFRAME_WEBHOOK_ALLOW_HTTP, for development)"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError("webhookUrl must not carry a user name or password")
    if not parts.hostname:
        raise ValueError("webhookUrl has no host")
    default_port = 443 if parts.scheme == "https" else 80
    return Target(url=url, scheme=parts.scheme, host=parts.hostname, port=port or default_port)


def check_subscription(
    url: str | None, events: Sequence[str] | None, *, allow_http: bool, policy: AddressPolicy
) -> list[str] | None:
    """Validate webhookUrl and webhookEvents at submit; returns the events to send (or None)."""
    if events is not None and not set(events) <= set(EVENTS):
        raise BadRequest(
            f"webhookEvents may only contain {', '.join(EVENTS)}", code="invalid_webhook"
        )
    if url is None:
        return None
    try:
        target = parse_target(url, allow_http=allow_http)
        policy.resolve(target.host, target.port)
    except (ValueError, AddressRefused) as exc:
        raise BadRequest(str(exc), code="invalid_webhook") from exc
    return list(dict.fromkeys(events if events is not None else DEFAULT_EVENTS))
