"""AsyncClient: the v2 API over httpx, for asyncio."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from outframe.client._api import AnyTransport, Operations
from outframe.client._flow import Flow, NextLine, Sleep, Step, Stream, T
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

    http: httpx.AsyncClient

    def _open(self, base_url: str, timeout: float, transport: AnyTransport) -> httpx.AsyncClient:
        if isinstance(transport, httpx.BaseTransport):
            raise TypeError("AsyncClient takes an async httpx transport; Client takes sync ones")
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        return self.http

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
        if isinstance(step, Stream):
            if step.op == "lines":
                return step.response.aiter_lines()
            await (step.response.aread() if step.op == "read" else step.response.aclose())
            return step.response
        try:
            if isinstance(step, NextLine):
                return await anext(step.lines, None)
            return await self.http.send(step.request, stream=step.stream)
        except httpx.TransportError as exc:
            return exc

    _submitted = _job = _page = _account = _data = _paths = _run
