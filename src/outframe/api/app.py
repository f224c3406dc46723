"""create_app: the FastAPI application, its services and its worker pool."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from outframe import __version__
from outframe.api.deps import Services
from outframe.api.errors import install_error_handlers
from outframe.api.limits import BodySizeLimit
from outframe.api.openapi import install_openapi
from outframe.api.ratelimit import RateLimiter
from outframe.api.routes import images, jobs, me
from outframe.core.config import Settings
from outframe.engines import load_engine
from outframe.engines.base import Engine
from outframe.queue.base import Queue
from outframe.queue.embedded import EmbeddedQueue
from outframe.services import keys
from outframe.services.jobs import JobService
from outframe.services.runner import JobRunner
from outframe.storage import load_storage
from outframe.storage.base import BlobStorage
from outframe.storage.local import LocalStorage
from outframe.store.db import open_database
from outframe.webhooks.addresses import AddressPolicy, Resolver, parse_networks, system_resolver
from outframe.webhooks.outbox import Outbox
from outframe.webhooks.sender import WebhookSender
from outframe.webhooks.transport import HttpTransport, WebhookTransport


def build_services(
    settings: Settings,
    *,
    engine: Engine | None = None,
    storage: BlobStorage | None = None,
    queue: Queue | None = None,
    webhook_transport: WebhookTransport | None = None,
    resolver: Resolver | None = None,
) -> Services:
    """Wire the store, storage, engine, queue and webhooks that the settings choose (or the
    ones given: tests pass fakes)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url())
    storage = storage or load_storage(settings)
    outbox = Outbox(
        db,
        storage,
        retry_seconds=settings.retry_schedule(),
        lock_seconds=settings.webhook_timeout_seconds + 15,
    )
    jobs = JobService(
        db,
        lease_seconds=settings.lease_seconds,
        job_timeout_seconds=settings.job_timeout_seconds,
        max_attempts=settings.max_attempts,
        outbox=outbox,
        max_canvas_pixels=settings.max_canvas_pixels,
    )
    engine = engine or load_engine(settings)
    if queue is None and settings.queue == "celery":
        from outframe.queue.celery import CeleryQueue, make_celery

        queue = CeleryQueue(make_celery(settings))
    if queue is None:
        runner = JobRunner(
            jobs,
            engine,
            storage,
            image_size=settings.image_size,
            timeout_seconds=settings.job_timeout_seconds,
        )
        queue = EmbeddedQueue(
            jobs,
            runner,
            workers=settings.workers,
            poll_seconds=settings.poll_seconds,
            lease_seconds=settings.lease_seconds,
            retention_days=settings.retention_days,
        )
    policy = AddressPolicy(
        allow_networks=parse_networks(settings.webhook_allow_networks),
        resolver=resolver or system_resolver,
    )
    transport = webhook_transport or HttpTransport(
        policy,
        allow_http=settings.webhook_allow_http,
        timeout=settings.webhook_timeout_seconds,
        ca_bundle=settings.webhook_ca_bundle,
    )
    sender = WebhookSender(outbox, transport, concurrency=settings.webhook_concurrency)
    callers = keys.CallerCache(settings.auth_cache_seconds)
    submit_limit = RateLimiter(
        "requests (POST)", settings.rate_limit_submits_per_second, settings.rate_limit_submit_burst
    )
    read_limit = RateLimiter(
        "reads (GET)", settings.rate_limit_reads_per_second, settings.rate_limit_read_burst
    )
    return Services(
        settings, db, jobs, storage, queue, engine, callers, outbox, policy, sender,
        submit_limit, read_limit,
    )  # fmt: skip


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
            app.mount("/cdn", StaticFiles(directory=services.storage.root), name="cdn")
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
    )
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(jobs.router)  # first: routes are matched in order, and polls dominate
    app.include_router(images.router)
    app.include_router(me.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Our own limit, not FastAPI's max_body_size: that one answers some 413s in plain text.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
