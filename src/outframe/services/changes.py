"""Job changes within one process: the job service says a job's row changed (after the commit),
and event streams waiting on that job wake at once instead of polling the database."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator


class Watch:
    """One waiter on one job, woken from any thread (workers run in threads, streams in the
    event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        self.woken = False  # whether a change was ever told: then this process runs the job

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting any more
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """Wait for a change or the timeout; True if a change was told."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()
        self.woken = True
        return True


class JobChanges:
    """Who waits on which job. Changes made by other processes are not told here: waiters
    must also look again now and then."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[str, set[Watch]] = {}

    def changed(self, job_id: str) -> None:
        with self._lock:
            watches = list(self._watches.get(job_id, ()))
        for watch in watches:
            watch.wake()

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[Watch]:
        """Watch a job from the running event loop, until the block ends."""
        watch = Watch(asyncio.get_running_loop())
        with self._lock:
            self._watches.setdefault(job_id, set()).add(watch)
        try:
            yield watch
        finally:
            with self._lock:
                watches = self._watches.get(job_id)
                if watches is not None:
                    watches.discard(watch)
                    if not watches:
                        del self._watches[job_id]

    def watching(self) -> int:
        """How many watches are open (for tests: a closed stream leaves none)."""
        with self._lock:
            return sum(len(w) for w in self._watches.values())
