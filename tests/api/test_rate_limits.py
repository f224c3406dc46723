"""Per-key request limits: 429 with Retry-After, nothing created or charged by a refused request,
POSTs and reads counted apart, each key on its own budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outframe.services import keys
from outframe.services.errors import TooManyRequests
from outframe.services.ratelimit import PRUNE_EVERY, RateLimiter
from tests.conftest import services_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    limiter = RateLimiter("requests", per_second=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.take("k")
    with pytest.raises(TooManyRequests) as refused:
        limiter.take("k")
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "1"}
    assert refused.value.extra == {"retryAfter": 1}
    assert "at most 2 per second" in refused.value.message
    limiter.take("other")  # each key has its own bucket
    clock.now += 0.5  # one token back
    limiter.take("k")
    with pytest.raises(TooManyRequests):
        limiter.take("k")
    clock.now += 60  # refills to the burst, not beyond
    for _ in range(3):
        limiter.take("k")
    with pytest.raises(TooManyRequests):
        limiter.take("k")


def test_retry_after_is_the_wait_for_one_token_rounded_up() -> None:
    clock = Clock()
    limiter = RateLimiter("requests", per_second=0.1, burst=1, clock=clock)
    limiter.take("k")
    clock.now += 2.5
    with pytest.raises(TooManyRequests) as refused:
        limiter.take("k")
    assert refused.value.headers == {"Retry-After": "8"}  # 7.5 s to go


def test_zero_rate_means_no_limit() -> None:
    limiter = RateLimiter("requests", per_second=0, burst=1)
    for _ in range(1000):
        limiter.take("k")


def test_idle_full_buckets_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter("requests", per_second=10, burst=5, clock=clock)
    limiter.take("idle")
    clock.now += 1  # "idle" is full again after 0.5 s
    for _ in range(PRUNE_EVERY):
        clock.now += 0.2
        limiter.take("busy")
    assert set(limiter._buckets) == {"busy"}


def test_api_refuses_with_429_and_creates_nothing(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(
        rate_limit_submits_per_second=0.01, rate_limit_submit_burst=2,
        rate_limit_reads_per_second=0.01, rate_limit_read_burst=3,
    )  # fmt: skip
    with services_of(client).db.write() as session:
        _, first = keys.create_key(session, name="a", credits_=100)
        _, second = keys.create_key(session, name="b", credits_=100)
    a, b = {"X-API-Key": first}, {"X-API-Key": second}

    def submit(headers: dict[str, str]) -> Any:
        return client.post("/v2/images/generate", json={"prompt": "x"}, headers=headers)

    assert [submit(a).status_code for _ in range(2)] == [202, 202]
    refused = submit(a)
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "100"
    body = refused.json()
    assert body["code"] == "rate_limited" and body["retryAfter"] == 100
    assert "POST" in body["error"] and "retry after 100 s" in body["error"]
    # The refused submit made no job and took no credits; reads have their own budget.
    jobs = client.get("/v2/jobs", headers=a).json()["jobs"]
    assert len(jobs) == 2
    assert client.get("/v2/me", headers=a).json()["team"]["credits"] == 100 - 2 * 16
    assert client.get(f"/v2/jobs/{jobs[0]['id']}", headers=a).status_code == 200
    read_refused = client.get(f"/v2/jobs/{jobs[0]['id']}", headers=a)
    assert read_refused.status_code == 429 and read_refused.json()["code"] == "rate_limited"
    # Another key is not held back by the first one's spending.
    assert submit(b).status_code == 202
    # Bad keys are refused before any budget is looked at.
    assert client.get("/v2/me", headers={"X-API-Key": "afk_nope"}).status_code == 401
