"""create_app: the FastAPI application, its services and its worker pool."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline

from outframe import __version__
from outframe.api.accesslog import AccessLog
from outframe.api.errors import install_error_handlers
from outframe.api.head import HeadAsGet
from outframe.api.limits import BodySizeLimit
from outframe.api.openapi import install_openapi
from outframe.api.requestid import RequestId
from outframe.api.routes import cdn, images, jobs, me, v1, videos
from outframe.api.routes.playground import PREFIX as PLAYGROUND
from outframe.api.routes.playground import install_playground
from outframe.container import build_services
from outframe.core.config import Settings
from outframe.engines.base import Engine
from outframe.queue.base import Queue
from outframe.storage.base import BlobStorage
from outframe.storage.local import LocalStorage
from outframe.webhooks.addresses import Resolver
from outframe.webhooks.transport import WebhookTransport


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    storage: BlobStorage | None = None,
    queue: Queue | None = None,
    webhook_transport: WebhookTransport | None = None,
    resolver: Resolver | None = None,
) -> FastAPI:
    """The API server. Services are built at start-up (migrations run then), not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await run_in_threadpool(
            build_services,
            settings,
            engine=engine,
            storage=storage,
            queue=queue,
            webhook_transport=webhook_transport,
            resolver=resolver,
        )
        app.state.services = services
        if isinstance(services.storage, LocalStorage):
            app.mount("/cdn", cdn.ResultFiles(directory=services.storage.root), name="cdn")
        services.queue.start()
        services.sender.start()
        # Everything built so far lives as long as the server: keep it out of the collector's
        # generations, so collections during requests scan only what requests allocate.
        gc.freeze()
        try:
            yield
        finally:
            await run_in_threadpool(services.queue.stop)
            await run_in_threadpool(services.sender.stop)
            services.db.dispose()

    # (FastAPIOffline: a FastAPI whose /docs serve Swagger UI from the package, not from a CDN)
    app = FastAPIOffline(
        title="outframe",
        version=__version__,
        description="A self-hostable server for the apiframe.ai v2 Midjourney API.",
        lifespan=lifespan,
        # A redirect to the other spelling of a path (/cdn -> /cdn/) would be built from the
        # request's Host header, i.e. to wherever the client names: a 404 instead.
        redirect_slashes=False,
    )
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(jobs.router)  # first: routes are matched in order, and polls dominate
    app.include_router(images.router)
    app.include_router(videos.router)
    app.include_router(me.router)
    app.include_router(v1.router)  # apiframe v1 at the root paths
    install_playground(app)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Our own limit, not FastAPI's max_body_size: that one answers some 413s in plain text.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAsGet, passthrough=("/cdn/", PLAYGROUND + "/"))
    app.add_middleware(AccessLog)  # inside RequestId, whose id it logs
    app.add_middleware(RequestId)  # added last: outermost, so it sees the body limit's 413s too
    return app
