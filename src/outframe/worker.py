"""`outframe worker` on the embedded queue: worker threads that poll a shared database."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from outframe.container import build_services
from outframe.core.config import Settings
from outframe.queue.embedded import EmbeddedQueue

log = logging.getLogger(__name__)


def run_embedded_worker(settings: Settings) -> None:
    """Run jobs until SIGTERM or SIGINT; running jobs left behind are retried elsewhere."""
    settings.workers = max(1, settings.workers)
    services = build_services(settings)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the running jobs' current step", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    services.queue.start()
    services.sender.start()
    log.info("worker: %d threads on %s", settings.workers, settings.resolved_database_url())
    stop.wait()
    if isinstance(services.queue, EmbeddedQueue):
        services.queue.stop(drain_seconds=settings.job_timeout_seconds)
    services.sender.stop()
    services.db.dispose()
