"""Requests at the edges of the contract (found by a review against a running server): each gets
a JSON 4xx that says what to fix, never a 500 or a job that makes nothing, and charges nothing."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from outframe.core.config import Settings
from outframe.server import welcome
from outframe.services import keys
from tests.conftest import Flow, api_error, services_of, wait_for

ACTION = "/v2/images/midjourney/action"


@pytest.mark.parametrize("cursor", ["99999999999999999999999999", "²", "-1", "1e3", ""])
def test_a_cursor_that_no_page_gave_is_a_400(flow: Flow, cursor: str) -> None:
    response = flow.client.get("/v2/jobs", params={"cursor": cursor}, headers=flow.headers)
    assert "nextCursor" in api_error(response, 400, "invalid_cursor")


def test_an_unexpected_error_is_still_a_json_500(client: TestClient) -> None:
    def broken() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/test-broken", broken)  # type: ignore[attr-defined]
    plain = TestClient(client.app, raise_server_exceptions=False)
    message = api_error(plain.get("/test-broken"), 500, "internal_error")
    assert "RuntimeError" in message and "a bug" not in message


def _chunks(total: int) -> Iterator[bytes]:
    yield b'{"prompt": "'
    for _ in range(total // 1024):
        yield b"a" * 1024
    yield b'"}'


@pytest.mark.parametrize("path", ["/v2/images/generate", ACTION, "/v2/images/import"])
def test_a_chunked_body_over_the_limit_is_a_413(
    make_client: Callable[..., TestClient], make_key: Callable[..., dict[str, str]], path: str
) -> None:
    client = make_client(max_body_bytes=4096)
    headers = {**make_key(), "Content-Type": "application/json"}
    # An iterator is sent with Transfer-Encoding: chunked, without a Content-Length.
    response = client.post(path, content=_chunks(64 * 1024), headers=headers)
    assert "4096 bytes" in api_error(response, 413, "payload_too_large")


def test_a_body_that_is_not_json_says_to_send_json(flow: Flow) -> None:
    form = flow.client.post(
        "/v2/images/generate",
        content=b'{"prompt": "a lake"}',
        headers={**flow.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "Content-Type: application/json" in api_error(form, 400, "invalid_request")
    not_utf8 = flow.client.post(
        "/v2/images/generate",
        content=b'{"prompt": "\xff\xfe"}',
        headers={**flow.headers, "Content-Type": "application/json"},
    )
    assert "UTF-8 JSON" in api_error(not_utf8, 400, "malformed_json")
    assert flow.credits() == 1000


def test_an_empty_idempotency_key_is_a_400(flow: Flow) -> None:
    response = flow.client.post(
        "/v2/images/generate",
        json={"prompt": "a lake"},
        headers={**flow.headers, "Idempotency-Key": ""},
    )
    assert "Idempotency-Key" in api_error(response, 400, "invalid_request")
    assert flow.credits() == 1000


def test_a_failed_parent_is_not_worth_waiting_for(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(job_timeout_seconds=0.3, fake_engine_seconds=2)
    # The key is made on this server, not with make_key: that starts a second server on the
    # same database, whose workers (without the slow engine) could take the job and finish it.
    with services_of(client).db.write() as session:
        _, key = keys.create_key(session, name="t", credits_=1000)
    flow = Flow(client, {"X-API-Key": key})
    grid = flow.submit("/v2/images/generate", {"prompt": "a lake"})
    assert wait_for(client, flow.headers, grid)["status"] == "FAILED"
    before = flow.credits()
    response = client.post(
        ACTION, json={"action": "upsample", "parentJobId": grid, "index": 1}, headers=flow.headers
    )
    message = api_error(response, 400, "invalid_parent")
    assert "FAILED" in message and "wait" not in message
    assert flow.credits() == before


@pytest.mark.parametrize(
    ("size", "body", "needle"),
    [
        ((1, 1), {"action": "pan", "direction": "left"}, "at least 2 pixels wide"),
        ((9, 1), {"action": "pan", "direction": "up"}, "at least 2 pixels high"),
        ((1, 1), {"action": "outpaint", "zoomRatio": 2}, "no new pixels"),
        ((64, 64), {"action": "outpaint", "zoomRatio": 1.001}, "no new pixels"),
    ],
)
def test_an_action_that_would_make_nothing_new_is_a_400(
    flow: Flow, size: tuple[int, int], body: dict[str, Any], needle: str
) -> None:
    width, height = size
    parent = flow.import_image(np.full((height, width, 3), 128, np.uint8))
    response = flow.client.post(ACTION, json={**body, "parentJobId": parent}, headers=flow.headers)
    assert needle in api_error(response, 400, "invalid_request")
    assert flow.credits() == 1000


def test_an_action_whose_image_would_be_too_large_is_a_400(
    make_client: Callable[..., TestClient], make_key: Callable[..., dict[str, str]]
) -> None:
    client = make_client(max_canvas_pixels=100 * 100)
    flow = Flow(client, make_key())
    parent = flow.import_image(np.full((80, 100, 3), 128, np.uint8))
    # Outpaint keeps the parent's size (8,000 pixels): within the limit.
    flow.done(flow.action({"action": "outpaint", "parentJobId": parent, "zoomRatio": 2}))
    before = flow.credits()
    response = client.post(
        ACTION,
        json={"action": "pan", "parentJobId": parent, "direction": "right"},
        headers=flow.headers,
    )
    message = api_error(response, 400, "image_too_large")
    assert "150x80" in message and "OUTFRAME_MAX_CANVAS_PIXELS" in message
    assert flow.credits() == before


def test_the_starter_key_takes_the_configured_concurrency(
    settings: Settings, make_client: Callable[..., TestClient]
) -> None:
    printed = welcome(settings.model_copy(update={"default_max_concurrent_jobs": 5}))
    plaintext = printed.split("(shown once, keep it):\n  ", 1)[1].split()[0]
    me = make_client().get("/v2/me", headers={"X-API-Key": plaintext})
    assert me.status_code == 200, me.text
    assert me.json()["team"]["maxConcurrentJobs"] == 5


def test_the_api_docs_need_no_internet(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[0]
    scripts = [part.split('"')[0] for part in page.text.split('src="')[1:]]
    styles = [part.split('"')[0] for part in page.text.split('href="')[1:]]
    assert scripts and styles
    for url in scripts + styles:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert client.get("/openapi.json").json()["info"]["title"] == "outframe"


def test_the_api_description_matches_the_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)  # bad input is a 400
            if not path.startswith("/v2/"):
                continue
            if path == "/v2/models":  # public, as apiframe's
                assert "security" not in operation
                continue
            names = [p["name"].lower() for p in operation.get("parameters", [])]
            assert "x-api-key" not in names and operation["security"] == [{"ApiKey": []}]
            assert responses["400"]["content"]["application/json"]["schema"] == error
            assert "401" in responses and "429" in responses
            if method == "post" and "idempotency-key" in names:
                assert {"402", "409", "413"} <= set(responses), path


def test_a_decompression_bomb_mask_is_a_400(flow: Flow) -> None:
    """50,000 x 50,000 pixels in a few dozen KB: refused before its pixels are read."""
    bomb = io.BytesIO()
    Image.new("1", (50_000, 50_000)).save(bomb, format="PNG", optimize=True)
    parent = flow.import_image(np.full((32, 32, 3), 128, np.uint8))
    body = {
        "action": "inpaint",
        "parentJobId": parent,
        "mask": base64.b64encode(bomb.getvalue()).decode(),
    }
    response = flow.client.post(ACTION, json=body, headers=flow.headers)
    assert "at most" in api_error(response, 400, "invalid_mask")
    assert flow.credits() == 1000
