"""Dependencies shared by the routes: the service container and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from outframe.core.config import Settings
from outframe.engines.base import Engine
from outframe.queue.base import Queue
from outframe.services import keys
from outframe.services.jobs import JobService
from outframe.storage.base import BlobStorage


@dataclass
class Services:
    """What one server process runs on, built once by create_app."""

    settings: Settings
    sessions: sessionmaker[Session]
    jobs: JobService
    storage: BlobStorage
    queue: Queue
    engine: Engine


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_caller(
    services: ServicesDep,
    x_api_key: Annotated[str | None, Header(description="afk_... key")] = None,
) -> keys.Caller:
    with services.sessions() as session:
        return keys.authenticate(session, x_api_key)


CallerDep = Annotated[keys.Caller, Depends(get_caller)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
