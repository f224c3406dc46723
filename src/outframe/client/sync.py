"""Client: the v2 API over httpx, blocking."""

from __future__ import annotations

import builtins
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from outframe.client._api import AnyTransport, Operations
from outframe.client._flow import Flow, NextLine, Sleep, Step, Stream, T
from outframe.client.models import Account, Job, JobPage, Submitted


class Client(Operations[Submitted, Job, JobPage, Account, dict[str, Any], builtins.list[Path]]):
    """`Client(base_url, api_key)`; both default to OUTFRAME_URL / OUTFRAME_KEY. Works against
    outframe and against apiframe's hosted API (`https://api.apiframe.ai`), which speak the
    same v2 contract (there, `wait` polls: it has no event stream)."""

    http: httpx.Client

    def _open(self, base_url: str, timeout: float, transport: AnyTransport) -> httpx.Client:
        if isinstance(transport, httpx.AsyncBaseTransport):
            raise TypeError("Client takes a sync httpx transport; AsyncClient takes async ones")
        self.http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        return self.http

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, flow: Flow[T]) -> T:
        outcome: object = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            outcome = self._perform(step)

    def _perform(self, step: Step) -> object:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        if isinstance(step, Stream):
            if step.op == "lines":
                return step.response.iter_lines()
            step.response.read() if step.op == "read" else step.response.close()
            return step.response
        try:
            if isinstance(step, NextLine):
                return next(step.lines, None)
            return self.http.send(step.request, stream=step.stream)
        except httpx.TransportError as exc:
            return exc

    _submitted = _job = _page = _account = _data = _paths = _run
