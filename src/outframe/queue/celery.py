"""Celery as the queue engine (the `[celery]` extra). Only the job id travels through the
broker, published after the commit; the worker claims jobs in the database with a lease, so a
duplicate or late delivery is a no-op and a lost one is re-announced by a keeper."""

from __future__ import annotations

import logging
import os
from typing import Any

from outframe.core.config import Settings
from outframe.queue.base import Queue

log = logging.getLogger(__name__)

TASK = "outframe.run_job"
QUEUE_NAME = "outframe"


def make_celery(settings: Settings) -> Any:
    try:
        from celery import Celery
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "OUTFRAME_QUEUE=celery needs Celery: pip install 'outframe[celery]'"
        ) from exc
    app = Celery("outframe", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,  # a message is done when its job is, not when it is received
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE_NAME,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Redis redelivers unacknowledged messages after this; it must outlast the longest job.
        broker_transport_options={"visibility_timeout": settings.job_timeout_seconds * 2 + 60},
    )
    return app


class CeleryQueue(Queue):
    def __init__(self, app: Any) -> None:
        self.app = app

    def notify(self, job_id: str) -> None:
        try:
            self.app.send_task(TASK, args=[job_id], queue=QUEUE_NAME)
        except Exception:
            # The job is committed; the workers' keepers will announce it again.
            log.exception("could not publish job %s; it will be picked up later", job_id)


def run_worker(settings: Settings) -> None:
    """`outframe worker` on Celery: one job at a time per process, plus a keeper thread."""
    from outframe.container import build_services
    from outframe.queue.keeper import Keeper
    from outframe.services.runner import JobRunner

    app = make_celery(settings)
    queue = CeleryQueue(app)
    services = build_services(settings, queue=queue)
    runner = JobRunner(
        services.jobs,
        services.engine,
        services.storage,
        image_size=settings.image_size,
        timeout_seconds=settings.job_timeout_seconds,
        scratch_dir=settings.scratch_dir,
    )
    worker_id = f"{os.uname().nodename}:{os.getpid()}"

    @app.task(name=TASK)  # type: ignore[untyped-decorator]
    def run_job(job_id: str) -> None:
        # The named job first; then whatever else is claimable, so that a job held back by its
        # team's concurrency limit is taken up as soon as a slot frees.
        claim = services.jobs.claim(worker_id, prefer=job_id)
        while claim is not None:
            runner.run(claim)
            claim = services.jobs.claim(worker_id)

    keeper = Keeper(
        services.jobs,
        runner,
        queue.notify,
        interval=min(settings.poll_seconds, settings.lease_seconds / 3),
        retention_days=settings.retention_days,
    )
    services.engine.start()
    keeper.start()
    services.sender.start()
    try:
        app.worker_main(
            [
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=INFO",
                "-Q",
                QUEUE_NAME,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
        )
    finally:
        keeper.stop()
        services.sender.stop()
        services.engine.close()
        services.db.dispose()
