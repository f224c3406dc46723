"""Per-API-key request rate limits (token buckets), answered with 429 and Retry-After.

Two budgets per key: job submissions (every POST: they take credits, storage and engine time) and
reads (GET polling). A key's bucket holds up to `burst` requests and refills at `per_second`; a
request that finds it empty is refused with the wait until one token is back. Buckets live in the
API process: with several API processes behind a balancer each enforces its own budget. Only
authenticated keys get a bucket, so unknown keys cannot grow the table.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from outframe.services.errors import TooManyRequests

PRUNE_EVERY = 1024  # takes between sweeps of buckets that have refilled completely


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by API key id; `per_second` 0 disables the limit."""

    def __init__(
        self, what: str, per_second: float, burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.what = what
        self.per_second = per_second
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._takes = 0

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def take(self, key: str) -> None:
        """Spend one token of `key`'s bucket, or raise TooManyRequests with the wait."""
        if not self.enabled:
            return
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            else:
                elapsed = now - bucket.updated
                bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.per_second)
                bucket.updated = now
            self._takes += 1
            if self._takes % PRUNE_EVERY == 0:
                self._prune(now)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return
            wait = (1 - bucket.tokens) / self.per_second
        retry_after = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"too many {self.what} for this API key: at most {self.per_second:g} per second "
            f"(bursts of {self.burst}); retry after {retry_after} s",
            retry_after=retry_after,
        )

    def _prune(self, now: float) -> None:
        """Forget buckets that are full again: they behave exactly like new ones."""
        full_after = self.burst / self.per_second
        for key in [k for k, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[key]
