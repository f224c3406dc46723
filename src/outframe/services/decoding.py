"""A cap on the pixels of uploads being decoded at once: a decode holds several bytes per pixel
until its image is stored, so without one, a few large uploads at once take gigabytes."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class PixelBudget:
    """Admits decodes in arrival order while their pixels together fit `pixels`; one larger
    than the whole budget runs alone. Waiting happens on the event loop, not in a thread."""

    def __init__(self, pixels: int) -> None:
        self.capacity = pixels
        self.in_use = 0
        self._waiting: deque[object] = deque()
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        # Made on first use, inside the server's event loop.
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def _fits(self, pixels: int) -> bool:
        return self.in_use == 0 or self.in_use + pixels <= self.capacity

    @asynccontextmanager
    async def hold(self, pixels: int) -> AsyncIterator[None]:
        changed = self._condition()
        ticket = object()
        async with changed:
            self._waiting.append(ticket)
            try:
                await changed.wait_for(lambda: self._waiting[0] is ticket and self._fits(pixels))
            finally:
                self._waiting.remove(ticket)  # (also when cancelled: the next one may go)
                changed.notify_all()
            self.in_use += pixels
        try:
            yield
        finally:
            async with changed:
                self.in_use -= pixels
                changed.notify_all()
