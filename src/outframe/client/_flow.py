"""The client's logic without I/O: each operation is a generator of steps (send, sleep, read a
line) that the sync and the async client run, so retries, waiting and downloads are written once.
"""

from __future__ import annotations

import email.utils
import logging
import os
import time
import uuid
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

import httpx

from outframe import __version__
from outframe.client.errors import ApiConnectionError, OutframeError, error_for
from outframe.client.models import Job
from outframe.client.sse import SseParser, Waiter

log = logging.getLogger("outframe.client")
T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
USER_AGENT = f"outframe-client/{__version__}"
# Statuses a request may be sent again after, when it is safe to (a GET, or a POST with an
# Idempotency-Key): the request did not reach the application or was refused before it ran.
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and how its successful answer is read."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    authenticated: bool = True
    idempotency_key: str | None = None

    @property
    def retryable(self) -> bool:
        """Safe to send twice: a read, or a POST the server deduplicates by its key."""
        return self.method == "GET" or self.idempotency_key is not None


# The steps a flow yields; the client performs each and sends back what it got.
@dataclass(frozen=True)
class Send:
    """-> httpx.Response (its body read unless `stream`), or the httpx.TransportError."""

    request: httpx.Request
    stream: bool = False


@dataclass(frozen=True)
class Sleep:
    """-> None."""

    seconds: float


@dataclass(frozen=True)
class Stream:
    """On a streamed response: "lines" -> an iterator (sync) or async iterator of its lines;
    "read" -> the response, its body read and the stream closed; "close" -> the response, closed.
    """

    response: httpx.Response
    op: Literal["lines", "read", "close"]


@dataclass(frozen=True)
class NextLine:
    """-> the next line, None at the end of the stream, or the httpx.TransportError."""

    lines: Any


Step = Send | Sleep | Stream | NextLine
Flow = Generator[Step, Any, T]


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), None where absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class Retry:
    """When to send a request again: a dropped connection or a 502-504 (only where that is safe),
    and a 429 after its Retry-After, up to `max_retries` times in all."""

    max_retries: int = 3
    backoff: float = 0.25
    max_wait: float = 120.0
    on_retry: Callable[[str, float], object] | None = field(default=None, repr=False)

    def delay(self, call: Call[Any], attempt: int, outcome: object) -> float | None:
        """Seconds to wait before the next attempt, or None: `outcome` is final."""
        if attempt >= self.max_retries:
            return None
        if isinstance(outcome, httpx.TransportError):
            if not call.retryable:
                return None
            return self._wait(call, f"{type(outcome).__name__}: {outcome}", self._backoff(attempt))
        assert isinstance(outcome, httpx.Response)
        status = outcome.status_code
        # (a 429 was refused before anything was done: safe to send again, POST or not)
        if status != 429 and not (status in RETRY_STATUSES and call.retryable):
            return None
        wait = retry_after(outcome)
        wait = self._backoff(attempt) if wait is None else wait
        return self._wait(call, f"HTTP {status}", wait) if wait <= self.max_wait else None

    def _backoff(self, attempt: int) -> float:
        return float(self.backoff * 2**attempt)

    def _wait(self, call: Call[Any], reason: str, seconds: float) -> float:
        log.info("%s %s: %s; sending again in %.2f s", call.method, call.path, reason, seconds)
        if self.on_retry is not None:
            self.on_retry(reason, seconds)
        return seconds


def finish(call: Call[T], outcome: object) -> T:
    """The parsed answer, or the exception for an error answer or an unreachable server."""
    if isinstance(outcome, httpx.TransportError):
        where = outcome.request.url if _has_request(outcome) else call.path
        raise ApiConnectionError(f"{call.method} {where}: {type(outcome).__name__}: {outcome}")
    assert isinstance(outcome, httpx.Response)
    if outcome.is_success:
        return call.parse(outcome)
    try:
        body: object = outcome.json()
    except ValueError:
        body = None
    raise error_for(
        outcome.status_code,
        body,
        text=outcome.text if body is None else "",
        request_id=outcome.headers.get("x-request-id"),
        retry_after=retry_after(outcome),
    )


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 (raises where the error was made without a request)
    except RuntimeError:
        return False
    return True


def json_of(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise ApiConnectionError(f"expected a JSON object from {response.url}, got {data!r:.80}")
    return data


def is_event_stream(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return response.status_code == 200 and content_type.startswith("text/event-stream")


def new_idempotency_key() -> str:
    return f"outframe-{uuid.uuid4()}"


def file_name(url: str, fallback: str) -> str:
    """The last part of the URL's path, if it is a plain file name (else `fallback`)."""
    name = os.path.basename(urlsplit(url).path)
    usable = name and name not in (".", "..") and all(c.isalnum() or c in "-_." for c in name)
    return name if usable else fallback


def write_file(path: Path, content: bytes) -> Path:
    """Whole or not at all: a half-written image never stands under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    partial.replace(path)
    return path


class Flows:
    """The flows of every operation, over an httpx client that builds the requests."""

    def __init__(
        self,
        http: httpx.Client | httpx.AsyncClient,
        api_key: str,
        retry: Retry,
        stream_timeout: float,
    ) -> None:
        self.http = http
        self.api_key = api_key
        self.retry = retry
        self.stream_timeout = stream_timeout
        # None: not known yet; False: this server has no event stream, poll.
        self.events_supported: bool | None = None

    def build(self, call: Call[Any], **extra: Any) -> httpx.Request:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if call.authenticated:
            headers["X-API-Key"] = self.api_key
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        headers.update(extra.pop("headers", {}))
        return self.http.build_request(
            call.method,
            call.path,
            json=call.json,
            files=call.files,
            data=call.data,
            params=call.params,
            headers=headers,
            **extra,
        )

    def request(self, call: Call[T]) -> Flow[T]:
        attempt = 0
        while True:
            outcome = yield Send(self.build(call))
            delay = self.retry.delay(call, attempt, outcome)
            if delay is None:
                return finish(call, outcome)
            yield Sleep(delay)
            attempt += 1

    def get(self, job_id: str) -> Flow[Job]:
        return self.request(Call("GET", f"/v2/jobs/{job_id}", lambda r: Job.parse(json_of(r))))

    def wait(self, job_id: str, waiter: Waiter, stream: bool = True) -> Flow[Job]:
        job = waiter.see((yield from self.get(job_id)))
        while not job.done:
            waiter.check(job)
            if stream and self.events_supported is not False:
                job = yield from self._follow(job, waiter)
            else:
                yield Sleep(waiter.next_interval())
                job = waiter.see((yield from self.get(job_id)))
        return waiter.outcome(job)

    def _follow(self, job: Job, waiter: Waiter) -> Flow[Job]:
        """Follow the job's event stream until it ends; then read the job again. Where the
        server offers no stream (apiframe's hosted API, older outframe), fall back to polling."""
        call: Call[None] = Call("GET", f"/v2/jobs/{job.id}/events", lambda r: None)
        timeout = httpx.Timeout(10.0, read=max(1.0, min(self.stream_timeout, waiter.remaining())))
        request = self.build(call, headers={"Accept": "text/event-stream"}, timeout=timeout)
        response = yield Send(request, stream=True)
        if isinstance(response, httpx.TransportError):
            yield Sleep(waiter.next_interval())
            return waiter.see((yield from self.get(job.id)))
        if not is_event_stream(response):
            self._no_stream((yield Stream(response, "read")))
            if self.events_supported is not False:  # for now (a 429, a 5xx): not straight back
                yield Sleep(waiter.next_interval())
            return waiter.see((yield from self.get(job.id)))
        self.events_supported = True
        parser = SseParser()
        lines = yield Stream(response, "lines")
        while True:
            line = yield NextLine(lines)
            if line is None or isinstance(line, httpx.TransportError):
                break  # the stream ended (or dropped) without a final event: look again
            event = parser.feed(line)
            if event is None:
                continue
            job, final = waiter.event(job, event)
            if final or waiter.remaining() <= 0:
                break
        yield Stream(response, "close")
        return waiter.see((yield from self.get(job.id)))

    def _no_stream(self, response: httpx.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            finish(Call("GET", str(response.url.path), lambda r: None), response)
        code = ""
        if status == 404:
            try:
                code = str(json_of(response).get("code", ""))
            except (ValueError, ApiConnectionError):
                code = ""
        # A missing route is for good; a 404 for the job itself, a 429 or a 5xx is for now.
        if (
            (status == 404 and code != "job_not_found")
            or status in (405, 406, 501)
            or (200 <= status < 300)
        ):
            self.events_supported = False

    def download(self, job: Job | str, folder: Path, grid: bool) -> Flow[list[Path]]:
        if isinstance(job, str):
            job = yield from self.get(job)
        if job.status != "COMPLETED":
            raise OutframeError(f"job {job.id} is {job.status}: it has nothing to download")
        urls = list(job.images) + ([job.grid_url] if grid and job.grid_url else [])
        paths = []
        if job.video_url is not None:  # a zoom video: its one file
            urls = [job.video_url]
        for n, url in enumerate(urls, start=1):
            fallback = f"{job.id}-grid.png" if n > len(job.images) else f"{job.id}-{n}.png"
            if job.video_url is not None:
                fallback = f"{job.id}-video{Path(url).suffix or '.mp4'}"
            # (never the key: image URLs may be on another host, a CDN or object storage)
            call = Call("GET", url, lambda r: r.content, authenticated=False)
            content = yield from self.request(call)
            paths.append(write_file(folder / file_name(url, fallback), content))
        return paths


def merge(values: Iterable[tuple[str, object]]) -> dict[str, Any]:
    """A JSON body without the fields left at None."""
    return {key: value for key, value in values if value is not None}
