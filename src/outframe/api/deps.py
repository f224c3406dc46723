"""Dependencies shared by the routes: the service container and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from outframe.api.ratelimit import RateLimiter
from outframe.core.config import Settings
from outframe.engines.base import Engine
from outframe.queue.base import Queue
from outframe.services import keys
from outframe.services.errors import Forbidden, Unauthorized
from outframe.services.jobs import JobService
from outframe.storage.base import BlobStorage
from outframe.store.db import Database
from outframe.webhooks.addresses import AddressPolicy
from outframe.webhooks.outbox import Outbox
from outframe.webhooks.sender import WebhookSender


@dataclass
class Services:
    """What one server process runs on, built once by create_app."""

    settings: Settings
    db: Database
    jobs: JobService
    storage: BlobStorage
    queue: Queue
    engine: Engine
    callers: keys.CallerCache
    outbox: Outbox
    webhook_policy: AddressPolicy
    sender: WebhookSender
    submit_limit: RateLimiter
    read_limit: RateLimiter


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_caller(
    request: Request,
    services: ServicesDep,
    x_api_key: Annotated[str | None, Header(description="afk_... key")] = None,
) -> keys.Caller:
    return await resolve_caller(services, x_api_key, request.method)


async def authenticate(request: Request) -> tuple[Services, keys.Caller]:
    """Services and caller without dependency injection, for the routes polled hardest."""
    services: Services = request.app.state.services
    caller = await resolve_caller(services, request.headers.get("x-api-key"), request.method)
    return services, caller


async def resolve_caller(services: Services, x_api_key: str | None, method: str) -> keys.Caller:
    """The key's caller, from the cache or the database; 401/403 otherwise, and 429 when the key
    has spent its request budget for `method` (POSTs and reads are counted apart)."""
    if not x_api_key:
        raise Unauthorized("API key is required", code="missing_api_key")
    digest = keys.hash_key(x_api_key)
    outcome = services.callers.get(digest)
    if outcome is None:
        try:
            outcome = await services.db.read(lambda conn: keys.authenticate_digest(conn, digest))
        except Forbidden as exc:
            outcome = exc
        services.callers.put(digest, outcome)
    if isinstance(outcome, Forbidden):
        raise outcome
    limit = services.read_limit if method in ("GET", "HEAD") else services.submit_limit
    limit.take(outcome.key_id)
    return outcome


CallerDep = Annotated[keys.Caller, Depends(get_caller)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]
