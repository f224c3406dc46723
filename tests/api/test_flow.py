"""The job API end to end in one process (fake engine): every action, listing, idempotency."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from outframe.services import credits
from tests.conftest import Flow, area_downscale, b64png, png_bytes, psnr, services_of

ACTION = "/v2/images/midjourney/action"


def fetch_png(client: TestClient, url: str) -> Image.Image:
    response = client.get(url.replace(services_of(client).settings.resolved_public_base_url(), ""))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(response.content))
    img.load()
    return img


def test_generate_upsample_outpaint_chain(flow: Flow) -> None:
    grid = flow.generate("a lake", midjourneyParams={"aspect_ratio": "16:9"})
    job = flow.done(grid)
    assert job["action"] == "generate" and job["creditCost"] == 16 and job["progress"] == 100
    assert len(job["result"]["images"]) == 4
    sizes = {fetch_png(flow.client, u).size for u in job["result"]["images"]}
    assert sizes == {(88, 48)}  # 16:9 at about 64² pixels, multiples of 8
    assert fetch_png(flow.client, job["result"]["gridUrl"]).size == (176, 96)

    up = flow.upsample(grid, 3)
    up_job = flow.done(up)
    assert up_job["parentJobId"] == grid and up_job["creditCost"] == 4
    assert len(up_job["result"]["images"]) == 1 and "gridUrl" not in up_job["result"]
    grid_image = np.asarray(fetch_png(flow.client, job["result"]["images"][2]))
    assert np.array_equal(
        np.asarray(fetch_png(flow.client, up_job["result"]["images"][0])), grid_image
    )

    out = flow.action({"action": "outpaint", "parentJobId": up, "zoomRatio": 1.5})
    out_job = flow.done(out)
    images = [np.asarray(fetch_png(flow.client, u)) for u in out_job["result"]["images"]]
    assert all(img.shape == (48, 88, 3) for img in images)
    assert len({img.tobytes() for img in images}) == 4  # four distinct candidates
    assert flow.credits() == 1000 - 16 - 4 - 16


def test_pan_inpaint_variation(flow: Flow) -> None:
    grid = flow.generate()
    up = flow.upsample(grid, 1)
    parent = np.asarray(fetch_png(flow.client, flow.done(up)["result"]["images"][0]))

    pan = flow.done(flow.action({"action": "pan", "parentJobId": up, "direction": "left"}))
    panned = np.asarray(fetch_png(flow.client, pan["result"]["images"][0]))
    assert panned.shape == (64, 96, 3)
    assert np.array_equal(panned[:, 32:], parent)  # kept on the right, new on the left

    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    inp = flow.done(
        flow.action(
            {"action": "inpaint", "parentJobId": up, "mask": b64png(mask), "prompt": "a boat"}
        )
    )
    painted = np.asarray(fetch_png(flow.client, inp["result"]["images"][0]))
    keep = mask == 0
    assert np.array_equal(painted[keep], parent[keep])
    assert not np.array_equal(painted[~keep], parent[~keep])

    var = flow.done(flow.action({"action": "variation", "parentJobId": grid, "index": 2}))
    assert len(var["result"]["images"]) == 4 and var["creditCost"] == 16
    # A variation is itself a grid: it can be upsampled.
    flow.upsample(var["id"], 4)
    assert flow.credits() == 1000 - 16 - 4 - 16 - 16 - 16 - 4


def test_import_then_outpaint(flow: Flow) -> None:
    rgba = np.zeros((40, 30, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    rgba[:5, :5, 3] = 0  # transparent corner: composited over white
    imported = flow.import_image(rgba)
    job = flow.done(imported)
    assert job["action"] == "import" and job["creditCost"] == 0 and job["progress"] == 100
    pixels = np.asarray(fetch_png(flow.client, job["result"]["images"][0]))
    assert pixels.shape == (40, 30, 3)
    assert tuple(pixels[0, 0]) == (255, 255, 255) and tuple(pixels[20, 20]) == (200, 0, 0)

    # Multipart works too, for grey images.
    grey = (np.arange(32 * 32) % 256).astype(np.uint8).reshape(32, 32)
    response = flow.client.post(
        "/v2/images/import",
        headers=flow.headers,
        files={"image": ("g.png", png_bytes(grey), "image/png")},
    )
    assert response.status_code == 201 and response.json()["status"] == "COMPLETED"

    out = flow.done(flow.action({"action": "outpaint", "parentJobId": imported, "zoomRatio": 2}))
    result = np.asarray(fetch_png(flow.client, out["result"]["images"][0]))
    assert result.shape == (40, 30, 3)
    assert flow.credits() == 1000 - 16


def test_idempotency(flow: Flow) -> None:
    body = {"prompt": "same"}
    headers = {**flow.headers, "Idempotency-Key": "k-1"}
    first = flow.client.post("/v2/images/generate", json=body, headers=headers)
    again = flow.client.post("/v2/images/generate", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert flow.credits() == 1000 - 16
    other = flow.client.post("/v2/images/generate", json={"prompt": "different"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert flow.credits() == 1000 - 16
    flow.done(first.json()["jobId"])


def test_list_jobs_paginates_newest_first(flow: Flow) -> None:
    ids = [flow.submit("/v2/images/generate", {"prompt": f"p{i}"}) for i in range(5)]
    for job_id in ids:
        flow.done(job_id)
    seen: list[str] = []
    cursor = None
    while True:
        query = "/v2/jobs?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = flow.client.get(query, headers=flow.headers).json()
        seen += [j["id"] for j in page["jobs"]]
        if not page["hasMore"]:
            assert page["nextCursor"] is None
            break
        cursor = page["nextCursor"]
    assert seen == ids[::-1]
    done = flow.client.get("/v2/jobs?status=COMPLETED&limit=100", headers=flow.headers).json()
    assert len(done["jobs"]) == 5
    queued = flow.client.get("/v2/jobs?status=QUEUED", headers=flow.headers).json()
    assert queued["jobs"] == []


def test_me_and_ledger_agree(flow: Flow) -> None:
    me = flow.client.get("/v2/me", headers=flow.headers).json()
    assert me["team"]["credits"] == 1000 and me["team"]["maxConcurrentJobs"] == 3
    assert me["apiKey"]["name"] == "test"
    flow.generate()
    with services_of(flow.client).db.session() as session:
        team = me["team"]["id"]
        assert credits.ledger_sum(session, team) == credits.balance(session, team) == 1000 - 16


def test_prompt_flags_seed_is_reproducible(
    make_client: Callable[..., Any], make_key: Callable[..., dict[str, str]]
) -> None:
    client = make_client()
    flow = Flow(client, make_key())
    a = flow.done(flow.generate("x --seed 42"))
    b = flow.done(flow.generate("x --seed 42"))
    c = flow.done(flow.generate("x --seed 43 --ar 2:1"))
    img = [np.asarray(fetch_png(client, j["result"]["images"][0])) for j in (a, b, c)]
    assert np.array_equal(img[0], img[1])
    assert img[2].shape == (48, 88, 3) and not np.array_equal(img[0][:48], img[2][:, :64])


@pytest.mark.parametrize("ratio", [2, 1.5, 1.25])
def test_outpaint_centre_is_the_downscaled_parent(flow: Flow, ratio: float) -> None:
    parent = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    imported = flow.import_image(parent)
    out = flow.done(
        flow.action({"action": "outpaint", "parentJobId": imported, "zoomRatio": ratio})
    )
    inner_w, inner_h = round(80 / ratio), round(60 / ratio)
    x0, y0 = (80 - inner_w) // 2, (60 - inner_h) // 2
    expected = area_downscale(parent, inner_w, inner_h)
    for url in out["result"]["images"]:
        img = np.asarray(fetch_png(flow.client, url))
        assert psnr(img[y0 : y0 + inner_h, x0 : x0 + inner_w], expected) >= 40


def test_openapi_documents_every_route_with_its_key(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v2/jobs/{job_id}"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"job_id"}
    assert operation["security"] == [{"ApiKey": []}]  # the X-API-Key scheme
    for path in ("/v2/images/generate", "/v2/images/midjourney/action", "/v2/me", "/v2/jobs"):
        assert path in spec["paths"]
