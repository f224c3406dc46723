"""apiframe v1 at the root paths, in process: the parts the real clients' run (tests/e2e) does
not reach: inpaint, Make Square's limits, errors in v1's shape, the endpoints outframe lacks."""

from __future__ import annotations

import numpy as np
import pytest

from outframe.api.routes.v1 import UNSUPPORTED
from tests.conftest import Flow, api_error, b64png, wait_for


def _v1(flow: Flow) -> dict[str, str]:
    return {"Authorization": flow.headers["X-API-Key"]}  # v1's header, without Bearer


def _task(flow: Flow, path: str, body: dict[str, object]) -> str:
    answer = flow.client.post(path, json=body, headers=_v1(flow))
    assert answer.status_code == 200, answer.text
    task_id = str(answer.json()["task_id"])
    assert wait_for(flow.client, flow.headers, task_id)["status"] == "COMPLETED"
    return task_id


def test_inpaint_and_fetch_in_v1_shapes(flow: Flow) -> None:
    parent = flow.import_image(np.full((24, 40, 3), 70, np.uint8))
    mask = np.zeros((24, 40, 3), np.uint8)
    mask[:, :10] = 255
    task_id = _task(flow, "/inpaint", {"parent_task_id": parent, "mask": b64png(mask)})
    task = flow.client.post("/fetch", json={"task_id": task_id}, headers=_v1(flow)).json()
    assert task["status"] == "finished" and task["task_type"] == "inpaint"
    assert len(task["image_urls"]) == 4 and task["original_image_url"].endswith("-grid.png")
    assert flow.credits() == 1000 - 16  # charged once, as any job


def test_make_square_needs_a_non_square_parent(flow: Flow) -> None:
    wide = flow.import_image(np.full((20, 50, 3), 90, np.uint8))
    square_id = _task(flow, "/outpaint", {"parent_task_id": wide, "zoom_ratio": 1})
    assert flow.client.get(f"/v2/jobs/{square_id}", headers=flow.headers).json()["action"] == (
        "outpaint"
    )
    square = flow.import_image(np.full((30, 30, 3), 90, np.uint8))
    again = flow.client.post(
        "/outpaint", json={"parent_task_id": square, "zoom_ratio": 1}, headers=_v1(flow)
    )
    assert "square already" in api_error(again, 400, "invalid_request")
    # v2 keeps apiframe's own range: above 1
    refused = flow.client.post(
        "/v2/images/midjourney/action",
        json={"action": "outpaint", "parentJobId": wide, "zoomRatio": 1},
        headers=flow.headers,
    )
    api_error(refused, 400)


def test_errors_carry_v1s_message_fields(flow: Flow) -> None:
    missing = flow.client.post(
        "/fetch", json={"task_id": "00000000-0000-4000-8000-000000000000"}, headers=_v1(flow)
    )
    message = api_error(missing, 404, "job_not_found")
    body = missing.json()
    assert body["message"] == message and body["errors"] == [{"msg": message}]
    grid = flow.generate()
    many = flow.client.post("/fetch-many", json={"task_ids": [grid, "nope"]}, headers=_v1(flow))
    assert "nope" in api_error(many, 404)
    bad = flow.client.post(
        "/upscale-1x", json={"parent_task_id": grid, "index": "five"}, headers=_v1(flow)
    )
    assert "index" in bad.json()["details"]
    unauthorised = flow.client.post("/imagine", json={"prompt": "x"})
    assert api_error(unauthorised, 401, "missing_api_key") == "API key is required"
    # v2 answers keep their own shape
    assert "message" not in flow.client.get("/v2/me").json()


@pytest.mark.parametrize("path", sorted(UNSUPPORTED))
def test_what_outframe_lacks_is_a_501_saying_what_to_use(flow: Flow, path: str) -> None:
    answer = flow.client.post(path, json={}, headers=_v1(flow))
    message = api_error(answer, 501, "not_implemented")
    assert path in message and UNSUPPORTED[path] in message
