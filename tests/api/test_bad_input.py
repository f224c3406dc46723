"""Every bad request gets a clear 4xx and charges nothing."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from outframe.services import keys
from tests.conftest import Flow, api_error, b64png, services_of

ACTION = "/v2/images/midjourney/action"


@pytest.fixture
def chain(flow: Flow) -> dict[str, str]:
    grid = flow.generate()
    return {"grid": grid, "upsample": flow.upsample(grid, 2)}


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ({"zoomRatio": 2, "parentJobId": "not-a-uuid"}, "invalid_request", "parentJobId"),
        ({}, "invalid_request", "zoomRatio"),
        ({"zoomRatio": 3}, "invalid_request", "zoomRatio"),
        ({"zoomRatio": 1.0}, "invalid_request", "zoomRatio"),
        ({"zoomRatio": 0}, "invalid_request", "zoomRatio"),
        ({"zoomRatio": -2}, "invalid_request", "zoomRatio"),
        ({"zoomRatio": "2"}, "invalid_request", "zoomRatio"),
        ({"zoomRatio": "wide"}, "invalid_request", "zoomRatio"),
        ({"zoomRatio": True}, "invalid_request", "zoomRatio"),
    ],
)
def test_bad_outpaint_fields(
    flow: Flow, chain: dict[str, str], body: dict[str, Any], code: str, needle: str
) -> None:
    before = flow.credits()
    request = {"action": "outpaint", "parentJobId": chain["upsample"], **body}
    err = api_error(flow.client.post(ACTION, json=request, headers=flow.headers), 400, code)
    assert needle in err
    assert flow.credits() == before


@pytest.mark.parametrize("index", [0, 5, "2", 2.5])
def test_bad_index(flow: Flow, chain: dict[str, str], index: Any) -> None:
    before = flow.credits()
    request = {"action": "upsample", "parentJobId": chain["grid"], "index": index}
    err = api_error(flow.client.post(ACTION, json=request, headers=flow.headers), 400)
    assert "index" in err
    assert flow.credits() == before


def test_parent_rules(
    flow: Flow, chain: dict[str, str], client: TestClient, make_key: Callable[..., dict[str, str]]
) -> None:
    before = flow.credits()
    post = flow.client.post
    # Outpainting a grid: upsample first.
    err = api_error(
        post(
            ACTION,
            json={"action": "outpaint", "parentJobId": chain["grid"], "zoomRatio": 2},
            headers=flow.headers,
        ),
        400,
        "invalid_parent",
    )
    assert "upsample" in err
    # Upsampling an upsample.
    err = api_error(
        post(
            ACTION,
            json={"action": "upsample", "parentJobId": chain["upsample"], "index": 1},
            headers=flow.headers,
        ),
        400,
        "invalid_parent",
    )
    assert "not an upsample job" in err
    # Unknown parent, and another account's parent: both 404, indistinguishable.
    unknown = post(
        ACTION,
        json={"action": "outpaint", "parentJobId": str(uuid.uuid4()), "zoomRatio": 2},
        headers=flow.headers,
    )
    api_error(unknown, 404, "parent_not_found")
    other = make_key()
    foreign = post(
        ACTION,
        json={"action": "outpaint", "parentJobId": chain["upsample"], "zoomRatio": 2},
        headers=other,
    )
    api_error(foreign, 404, "parent_not_found")
    assert client.get(f"/v2/jobs/{chain['grid']}", headers=other).status_code == 404
    assert flow.credits() == before


def test_parent_not_completed(make_client: Callable[..., TestClient]) -> None:
    client = make_client(workers=0)  # nothing runs: the parent stays QUEUED
    with services_of(client).db.write() as session:
        _, plaintext = keys.create_key(session, name="t", credits_=100)
    flow = Flow(client, {"X-API-Key": plaintext})
    grid = flow.submit("/v2/images/generate", {"prompt": "x"})
    err = api_error(
        client.post(
            ACTION,
            json={"action": "upsample", "parentJobId": grid, "index": 1},
            headers=flow.headers,
        ),
        400,
        "invalid_parent",
    )
    assert "QUEUED" in err
    assert flow.credits() == 100 - 16


def test_unknown_action_and_malformed_json(flow: Flow, chain: dict[str, str]) -> None:
    before = flow.credits()
    err = api_error(
        flow.client.post(
            ACTION, json={"action": "zoom", "parentJobId": chain["upsample"]}, headers=flow.headers
        ),
        400,
        "unknown_action",
    )
    assert "outpaint" in err
    api_error(
        flow.client.post(ACTION, json={"parentJobId": chain["upsample"]}, headers=flow.headers),
        400,
        "unknown_action",
    )
    bad = flow.client.post(
        ACTION,
        content=b'{"action": "outpaint",',
        headers={**flow.headers, "Content-Type": "application/json"},
    )
    err = api_error(bad, 400, "malformed_json")
    assert "JSON" in err
    assert flow.credits() == before


def test_auth(client: TestClient, make_key: Callable[..., dict[str, str]]) -> None:
    body = {"prompt": "x"}
    err = api_error(client.post("/v2/images/generate", json=body), 401)
    assert err == "API key is required"
    err = api_error(client.get("/v2/me", headers={"X-API-Key": "afk_nope"}), 401)
    assert err == "Invalid API key"
    headers = make_key()
    key_id = client.get("/v2/me", headers=headers).json()["apiKey"]["id"]
    with services_of(client).db.write() as session:
        keys.set_active(session, key_id, False)
    err = api_error(client.post("/v2/images/generate", json=body, headers=headers), 403)
    assert err == "API key is inactive"


def test_insufficient_credits(client: TestClient, make_key: Callable[..., dict[str, str]]) -> None:
    headers = make_key(credits=10)
    response = client.post("/v2/images/generate", json={"prompt": "x"}, headers=headers)
    api_error(response, 402, "insufficient_credits")
    assert response.json()["balance"] == 10 and response.json()["cost"] == 16
    assert Flow(client, headers).credits() == 10


@pytest.mark.parametrize("prompt", ["", "   ", "x" * 2001])
def test_bad_prompt(flow: Flow, prompt: str) -> None:
    err = api_error(
        flow.client.post("/v2/images/generate", json={"prompt": prompt}, headers=flow.headers), 400
    )
    assert "prompt" in err
    assert flow.credits() == 1000


@pytest.mark.parametrize("ratio", ["wide", "0:1", "9:1", "1:10"])
def test_bad_aspect_ratio(flow: Flow, ratio: str) -> None:
    body = {"prompt": "x", "midjourneyParams": {"aspect_ratio": ratio}}
    err = api_error(flow.client.post("/v2/images/generate", json=body, headers=flow.headers), 400)
    assert "aspect_ratio" in err


def test_import_not_an_image(flow: Flow) -> None:
    import base64

    err = api_error(
        flow.client.post(
            "/v2/images/import",
            json={"image": base64.b64encode(b"hello, not a PNG").decode()},
            headers=flow.headers,
        ),
        400,
        "invalid_image",
    )
    assert "image" in err
    err = api_error(
        flow.client.post(
            "/v2/images/import",
            files={"image": ("x.png", b"\x89PNG garbage", "image/png")},
            headers=flow.headers,
        ),
        400,
        "invalid_image",
    )
    api_error(
        flow.client.post("/v2/images/import", json={"image": "%%%"}, headers=flow.headers),
        400,
        "invalid_image",
    )


def test_import_decompression_bomb(flow: Flow) -> None:
    """A 50,000 x 50,000 PNG is a few dozen KB on the wire; it must be refused unread."""
    bomb = io.BytesIO()
    Image.new("1", (50_000, 50_000)).save(bomb, format="PNG", optimize=True)
    assert len(bomb.getvalue()) < 1_000_000
    err = api_error(
        flow.client.post(
            "/v2/images/import",
            files={"image": ("bomb.png", bomb.getvalue(), "image/png")},
            headers=flow.headers,
        ),
        400,
        "image_too_large",
    )
    assert "pixels" in err or "large" in err


def test_body_too_large(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=4096)
    big = b64png(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    response = client.post("/v2/images/import", json={"image": big}, headers={"X-API-Key": "afk_x"})
    api_error(response, 413, "payload_too_large")


def test_inpaint_mask_checks(flow: Flow, chain: dict[str, str]) -> None:
    before = flow.credits()
    wrong_size = np.full((10, 10), 255, np.uint8)
    err = api_error(
        flow.client.post(
            ACTION,
            json={
                "action": "inpaint",
                "parentJobId": chain["upsample"],
                "mask": b64png(wrong_size),
            },
            headers=flow.headers,
        ),
        400,
        "invalid_mask",
    )
    assert "must match" in err
    api_error(
        flow.client.post(
            ACTION,
            json={"action": "inpaint", "parentJobId": chain["upsample"], "mask": "not base64!"},
            headers=flow.headers,
        ),
        400,
        "invalid_mask",
    )
    api_error(
        flow.client.post(
            ACTION,
            json={
                "action": "inpaint",
                "parentJobId": chain["upsample"],
                "mask": b64png(np.zeros((512, 512), np.uint8)),
            },
            headers=flow.headers,
        ),
        400,
        "invalid_mask",
    )
    assert flow.credits() == before
    assert masks_stored(flow) == []  # nothing kept for requests that made no job


def masks_stored(flow: Flow) -> list[str]:
    root = services_of(flow.client).storage.root  # type: ignore[attr-defined]
    return sorted(path.name for path in root.glob("*-mask.png"))


def test_a_replayed_inpaint_keeps_one_mask(flow: Flow, chain: dict[str, str]) -> None:
    parent = flow.client.get(f"/v2/jobs/{chain['upsample']}", headers=flow.headers).json()
    url = parent["result"]["images"][0]
    width, height = Image.open(io.BytesIO(flow.client.get(url).content)).size
    mask = np.zeros((height, width), np.uint8)
    mask[: height // 2] = 255
    body = {"action": "inpaint", "parentJobId": chain["upsample"], "mask": b64png(mask)}
    headers = {**flow.headers, "Idempotency-Key": "inpaint-once"}
    first = flow.client.post(ACTION, json=body, headers=headers)
    again = flow.client.post(ACTION, json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["jobId"] == again.json()["jobId"]
    assert masks_stored(flow) == [f"{first.json()['jobId']}-mask.png"]


def test_bad_pan_direction(flow: Flow, chain: dict[str, str]) -> None:
    err = api_error(
        flow.client.post(
            ACTION,
            json={"action": "pan", "parentJobId": chain["upsample"], "direction": "sideways"},
            headers=flow.headers,
        ),
        400,
    )
    assert "direction" in err


def test_unknown_job_and_route(flow: Flow) -> None:
    api_error(
        flow.client.get(f"/v2/jobs/{uuid.uuid4()}", headers=flow.headers), 404, "job_not_found"
    )
    api_error(flow.client.get("/v2/nothing-here", headers=flow.headers), 404)
    api_error(flow.client.get("/v2/jobs?cursor=abc", headers=flow.headers), 400)
    api_error(flow.client.get("/v2/jobs?status=DONE", headers=flow.headers), 400)


def test_disabled_key_refused_once_the_auth_cache_lapses(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(auth_cache_seconds=0.3)
    with services_of(client).db.write() as session:
        key, plaintext = keys.create_key(session, name="t", credits_=0)
    headers = {"X-API-Key": plaintext}
    assert client.get("/v2/me", headers=headers).status_code == 200
    with services_of(client).db.write() as session:
        keys.set_active(session, key.id, False)
    deadline = time.monotonic() + 5
    while client.get("/v2/me", headers=headers).status_code != 403:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # Unknown keys are never remembered: a key created now works at once.
    with services_of(client).db.write() as session:
        _, fresh = keys.create_key(session, name="u", credits_=0)
    assert client.get("/v2/me", headers={"X-API-Key": fresh}).status_code == 200
