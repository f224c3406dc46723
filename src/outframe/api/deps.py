"""Dependencies shared by the routes: the service container and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from outframe.container import Services
from outframe.services import keys
from outframe.services.errors import Forbidden, Unauthorized


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_caller(
    request: Request,
    services: ServicesDep,
    x_api_key: Annotated[str | None, Header(description="afk_... key")] = None,
) -> keys.Caller:
    key = x_api_key or key_from_authorization(request.headers.get("authorization"))
    return await resolve_caller(services, key, request.method)


async def authenticate(request: Request) -> tuple[Services, keys.Caller]:
    """Services and caller without dependency injection, for the routes polled hardest."""
    services: Services = request.app.state.services
    headers = request.headers
    key = headers.get("x-api-key") or key_from_authorization(headers.get("authorization"))
    caller = await resolve_caller(services, key, request.method)
    return services, caller


def key_from_authorization(value: str | None) -> str | None:
    """apiframe v1's header: `Authorization: <key>`, or `Authorization: Bearer <key>`."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    key = rest if scheme.lower() == "bearer" else value
    return key.strip() or None


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
