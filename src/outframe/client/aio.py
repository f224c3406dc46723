"""AsyncClient: the v2 API over httpx, for asyncio."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from outframe.client._api import Operations, settings_from_env
from outframe.client._flow import Close, Flow, Lines, NextLine, Read, Sleep, Step, T
from outframe.client.models import Account, Job, JobPage, Submitted


class AsyncClient(
    Operations[
        Awaitable[Submitted],
        Awaitable[Job],
        Awaitable[JobPage],
        Awaitable[Account],
        Awaitable[dict[str, Any]],
        Awaitable[builtins.list[Path]],
    ]
):
    """The same methods as Client, each to be awaited: `await client.wait(job_id)`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        stream_timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url, key = settings_from_env(base_url, api_key)
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport)
        self._setup(self.http, key, max_retries, stream_timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, flow: Flow[T]) -> T:
        outcome: object = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            outcome = await self._perform(step)

    async def _perform(self, step: Step) -> object:
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        if isinstance(step, Lines):
            return step.response.aiter_lines()
        if isinstance(step, Close | Read):
            await (step.response.aread() if isinstance(step, Read) else step.response.aclose())
            return step.response
        try:
            if isinstance(step, NextLine):
                return await anext(step.lines, None)
            return await self.http.send(step.request, stream=step.stream)
        except httpx.TransportError as exc:
            return exc

    _submitted = _job = _page = _account = _data = _paths = _run
