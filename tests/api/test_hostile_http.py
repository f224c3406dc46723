"""What a hostile client can do with HTTP itself (found by an audit of a running server): slow
request heads, uploads cut off mid-way, Host headers that name another site, HEAD requests."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from outframe.core.config import Settings
from tests.api.live import live_server
from tests.conftest import Flow, api_error, b64png, services_of

ACTION = "/v2/images/midjourney/action"


def test_a_trickled_request_head_is_cut_off(settings: Settings) -> None:
    """A client that sends its headers a byte at a time is closed after the head timeout;
    others are served meanwhile."""
    fast = settings.model_copy(update={"request_head_timeout_seconds": 0.5})
    with live_server(fast) as live, socket.create_connection(("127.0.0.1", live.port)) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(100):  # a byte every 0.05 s for 5 s: ten times the timeout
            try:
                slow.sendall(b"X")
            except OSError:
                closed = True
                break
            assert httpx.get(f"{live.url}/healthz").status_code == 200
            time.sleep(0.05)
        assert closed, "the trickling connection is still open after 5 s"


def test_a_client_that_hangs_up_mid_upload_is_one_info_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with live_server(settings) as live:
        key = live.key().encode()
        body = b"--b\r\nContent-Disposition: form-data; name=image; filename=a.png\r\n\r\n"
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as conn:
            conn.sendall(
                b"POST /v2/images/import HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + b"\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
                + body
            )
        deadline = time.monotonic() + 10
        while not any("disconnected" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.02)
        assert httpx.get(f"{live.url}/healthz").status_code == 200
    gone = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_head_answers_on_get_routes(
    client: TestClient, make_key: Callable[..., dict[str, str]]
) -> None:
    headers = make_key()
    for path in ("/healthz", "/v2/me", "/v2/jobs", "/v2/models", "/openapi.json"):
        get, head = client.get(path, headers=headers), client.head(path, headers=headers)
        if get.status_code == 404 and path == "/v2/models":
            continue  # (a route another change adds)
        assert head.status_code == get.status_code == 200, (path, head.status_code)
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
    missing = client.head("/v2/jobs/00000000-0000-0000-0000-000000000000", headers=headers)
    assert missing.status_code == 404 and missing.content == b""
    assert client.head("/v2/images/generate", headers=headers).status_code == 405


@pytest.mark.parametrize(
    "path", ["/cdn", "/cdn/", "/v2/jobs/", "/v2/me/", "/docs/", "/healthz/", "//evil.example/"]
)
def test_no_redirect_leaves_the_public_base_url(
    client: TestClient, make_key: Callable[..., dict[str, str]], path: str
) -> None:
    response = client.get(
        path, headers={**make_key(), "Host": "evil.example"}, follow_redirects=False
    )
    if response.is_redirect:
        base = services_of(client).settings.resolved_public_base_url()
        assert response.headers["location"].startswith((base + "/", "/")), response.headers
        assert not response.headers["location"].startswith("//")
    else:
        assert response.status_code < 500


def test_an_inpaint_mask_is_not_public(
    client: TestClient, make_key: Callable[..., dict[str, str]]
) -> None:
    flow = Flow(client, make_key())
    parent = flow.import_image(np.full((64, 64, 3), 120, np.uint8))
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    job_id = flow.action({"action": "inpaint", "parentJobId": parent, "mask": b64png(mask)})
    job = flow.done(job_id)
    storage = services_of(client).storage
    assert storage.get(f"{job_id}-mask.png")  # kept for the job's runs...
    image = client.get(job["result"]["images"][0])
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    for method in ("GET", "HEAD"):  # ...but not served
        hidden = client.request(method, f"/cdn/{job_id}-mask.png")
        assert hidden.status_code == 404
    api_error(client.get(f"/cdn/{job_id}-mask.png"), 404)


def test_the_import_bodies_and_the_enforced_rules_are_documented(client: TestClient) -> None:
    """Clients generated from /openapi.json send what the server takes."""
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v2/images/import"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"]["required"] == ["image"]
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["image"]["format"] == "binary" and form["required"] == ["image"]
    assert form["properties"]["webhookUrl"]["pattern"] == "^https://"
    cursor = next(
        p for p in spec["paths"]["/v2/jobs"]["get"]["parameters"] if p["name"] == "cursor"
    )
    assert cursor["schema"]["pattern"] == "^[0-9]{1,18}$"
    generate = spec["components"]["schemas"]["GenerateRequest"]
    assert generate["properties"]["webhookUrl"]["pattern"] == "^https://"
