"""x-request-id: on every response, the caller's own where it sent a usable one."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from outframe.api.requestid import current_request_id
from tests.conftest import Flow, api_error


def test_a_new_id_per_request_when_the_caller_sends_none(flow: Flow) -> None:
    first = flow.client.get("/v2/me", headers=flow.headers).headers["x-request-id"]
    second = flow.client.get("/v2/me", headers=flow.headers).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_the_callers_id_comes_back_on_success_and_on_errors(flow: Flow) -> None:
    sent = {**flow.headers, "X-Request-Id": "trace-42/abc"}
    ok = flow.client.post("/v2/images/generate", json={"prompt": "a lake"}, headers=sent)
    assert ok.status_code == 202 and ok.headers["x-request-id"] == "trace-42/abc"
    bad = flow.client.post("/v2/images/generate", json={"prompt": ""}, headers=sent)
    api_error(bad, 400)
    assert bad.headers["x-request-id"] == "trace-42/abc"
    unauthorised = flow.client.get("/v2/me", headers={"X-Request-Id": "r-1"})
    api_error(unauthorised, 401, "missing_api_key")
    assert unauthorised.headers["x-request-id"] == "r-1"
    # and on answers made outside the routes: the body limit's 413, an unknown path
    big = flow.client.post("/v2/images/generate", content=b"x" * 40_000_000, headers=sent)
    api_error(big, 413, "payload_too_large")
    assert big.headers["x-request-id"] == "trace-42/abc"
    assert flow.client.get("/nowhere", headers=sent).headers["x-request-id"] == "trace-42/abc"


@pytest.mark.parametrize("unusable", ["x" * 201, "has space"])
def test_an_unusable_id_is_replaced_not_echoed(flow: Flow, unusable: str) -> None:
    got = flow.client.get("/v2/me", headers={**flow.headers, "X-Request-Id": unusable})
    assert got.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", got.headers["x-request-id"])


def test_a_500_names_its_request_and_the_id_is_visible_inside(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    seen: list[str | None] = []

    def broken(request: Request) -> None:
        seen.append(current_request_id.get())
        assert request.state.request_id == seen[0]
        raise RuntimeError("a bug")

    client.app.add_api_route("/test-broken", broken)  # type: ignore[attr-defined]
    plain = TestClient(client.app, raise_server_exceptions=False)
    response = plain.get("/test-broken", headers={"X-Request-Id": "boom-1"})
    api_error(response, 500, "internal_error")
    assert response.headers["x-request-id"] == "boom-1" and seen == ["boom-1"]
