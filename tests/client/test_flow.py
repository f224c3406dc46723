"""The client's logic without a server: reading event streams, Retry-After, what is retried."""

from __future__ import annotations

import email.utils
import time

import httpx

from outframe.client._flow import Call, Retry, file_name, retry_after
from outframe.client.sse import SseEvent, SseParser


def feed(parser: SseParser, text: str) -> list[SseEvent]:
    events = [parser.feed(line) for line in text.split("\n")]
    return [event for event in events if event is not None]


def test_sse_events_as_the_spec_reads_them() -> None:
    parser = SseParser()
    stream = (
        'retry: 1000\n\n: keep-alive\n\nevent: progress\ndata: {"progress": 40}\n\n'
        "data: first\ndata:second\n\nevent: completed\ndata: {}\n\n"
    )
    assert feed(parser, stream) == [
        SseEvent("progress", '{"progress": 40}'),
        SseEvent("message", "first\nsecond"),
        SseEvent("completed", "{}"),
    ]


def test_retry_after_in_seconds_or_as_a_date() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value} if value else {})

    assert retry_after(answer("3")) == 3.0
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after(answer(when)) or 0) <= 30
    assert retry_after(answer("")) is None and retry_after(answer("soon")) is None


def test_what_is_sent_again() -> None:
    retry = Retry(max_retries=2, backoff=0.25)
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    post: Call[None] = Call("POST", "/v2/images/generate", lambda r: None)
    keyed: Call[None] = Call("POST", "/v2/images/generate", lambda r: None, idempotency_key="k")
    get: Call[None] = Call("GET", "/v2/me", lambda r: None)
    assert retry.delay(post, 0, dropped) is None  # it might have made a job: never twice
    assert retry.delay(keyed, 0, dropped) == 0.25 and retry.delay(keyed, 1, dropped) == 0.5
    assert retry.delay(keyed, 2, dropped) is None  # out of retries
    assert retry.delay(post, 0, httpx.Response(429, headers={"Retry-After": "2"})) == 2.0
    assert retry.delay(post, 0, httpx.Response(503)) is None
    assert retry.delay(get, 0, httpx.Response(503, headers={"Retry-After": "1"})) == 1.0
    assert retry.delay(get, 0, httpx.Response(500)) is None  # a bug, not a passing state
    assert retry.delay(get, 0, httpx.Response(429, headers={"Retry-After": "999"})) is None


def test_download_names() -> None:
    assert file_name("http://h/cdn/abc-1.png?sig=x", "f.png") == "abc-1.png"
    assert file_name("http://h/cdn/..", "f.png") == "f.png"
    assert file_name("http://h/cdn/a%20b.png", "f.png") == "f.png"
