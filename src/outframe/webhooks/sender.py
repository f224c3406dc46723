"""The sender: claims due deliveries and attempts them on a pool of threads, so that one slow
receiver (up to its 15 s timeout) holds up one thread and nothing else."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from outframe.webhooks.outbox import Due, Outbox
from outframe.webhooks.signing import signed_headers
from outframe.webhooks.transport import WebhookTransport

log = logging.getLogger(__name__)


class WebhookSender:
    def __init__(
        self,
        outbox: Outbox,
        transport: WebhookTransport,
        *,
        concurrency: int = 16,
        poll_seconds: float = 0.5,
    ) -> None:
        self.outbox = outbox
        self.transport = transport
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._free = threading.Semaphore(concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        outbox.listeners.append(self._wake.set)

    def start(self) -> None:
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="outframe-webhook")
        self._thread = threading.Thread(
            target=self._dispatch, name="outframe-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._pool is not None:
            # In-flight attempts are abandoned; their locks lapse and they are tried again.
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.transport.close()

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            free = 0
            while self._free.acquire(blocking=False):
                free += 1
            try:
                due = self.outbox.claim_due(free) if free else []
            except Exception:
                log.exception("webhook outbox unreadable; retrying")
                due = []
            for _ in range(free - len(due)):
                self._free.release()
            assert self._pool is not None
            for delivery in due:
                self._pool.submit(self._attempt, delivery)
            if len(due) < free or not free:
                self._wake.wait(self.poll_seconds)

    def _attempt(self, due: Due) -> None:
        try:
            headers = signed_headers(
                key_hash=due.key_hash,
                webhook_id=due.webhook_id,
                event=due.event,
                body=due.payload,
                now=datetime.now(UTC),
            )
            if due.webhook_secret:  # apiframe v1: the client's own secret, sent back as given
                headers["x-webhook-secret"] = due.webhook_secret
            started = time.monotonic()
            reply = self.transport.post(due.url, due.payload.encode(), headers)
            elapsed = int((time.monotonic() - started) * 1000)
            status = self.outbox.record(due, reply, elapsed)
            if status != "delivered":
                log.info(
                    "webhook %s for job %s: %s (%s)",
                    due.event,
                    due.job_id,
                    status,
                    reply.error or reply.status,
                )
        except Exception:
            log.exception("webhook %s for job %s: attempt failed", due.event, due.job_id)
        finally:
            self._free.release()
            self._wake.set()
