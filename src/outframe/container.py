"""The composition root: builds the services that `Settings` choose. The API, the CLI and every
worker call it; it sits above every layer it wires, and none of them imports it."""

from __future__ import annotations

from dataclasses import dataclass

from outframe.core.config import Settings
from outframe.engines import load_engine
from outframe.engines.base import Engine
from outframe.queue.base import Queue
from outframe.queue.embedded import EmbeddedQueue
from outframe.services import keys
from outframe.services.changes import JobChanges
from outframe.services.decoding import PixelBudget
from outframe.services.events import JobEvents
from outframe.services.jobs import JobService
from outframe.services.ratelimit import RateLimiter
from outframe.services.runner import JobRunner
from outframe.storage import load_storage
from outframe.storage.base import BlobStorage
from outframe.store.db import Database, open_database
from outframe.webhooks.addresses import AddressPolicy, Resolver, parse_networks, system_resolver
from outframe.webhooks.outbox import Outbox
from outframe.webhooks.sender import WebhookSender
from outframe.webhooks.transport import HttpTransport, WebhookTransport


@dataclass
class Services:
    """What one server or worker process runs on, built once by build_services."""

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
    events: JobEvents
    decode_budget: PixelBudget


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
    changes = JobChanges()
    jobs = JobService(
        db,
        lease_seconds=settings.lease_seconds,
        job_timeout_seconds=settings.job_timeout_seconds,
        max_attempts=settings.max_attempts,
        outbox=outbox,
        max_canvas_pixels=settings.max_canvas_pixels,
        changes=changes,
        import_quota_bytes=settings.import_quota_bytes,
    )
    events = JobEvents(
        db,
        changes,
        storage,
        poll_seconds=settings.events_poll_seconds,
        max_seconds=settings.events_max_seconds,
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
            scratch_dir=settings.scratch_dir,
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
        submit_limit, read_limit, events, PixelBudget(settings.decode_pixel_budget),
    )  # fmt: skip
