"""The Queue interface: it only wakes workers; the database says what there is to do."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod


class Queue(ABC):
    @abstractmethod
    def notify(self, job_id: str) -> None:
        """A job was committed as QUEUED; wake a worker. Called after the commit."""

    def start(self) -> None:
        """Start consuming (a no-op for queues with no workers in this process)."""

    def stop(self) -> None:
        """Stop consuming; running jobs finish or are left for their lease to expire."""


class RecordingQueue(Queue):
    """Runs nothing; remembers what it was told. For tests of the API alone."""

    def __init__(self) -> None:
        self.notified: list[str] = []
        self._lock = threading.Lock()

    def notify(self, job_id: str) -> None:
        with self._lock:
            self.notified.append(job_id)
