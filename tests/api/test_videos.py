"""POST /v2/videos/zoom: a zoom video of a chain made through the API, decoded and measured."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Flow, api_error, psnr, services_of, wait_for
from tests.video.chains import (
    TexturedEngine,
    decode,
    fetch,
    image_of,
    texture,
    zoom_between,
    zoom_chain,
)

pytest.importorskip("av", reason="zoom videos need the [video] extra (PyAV)")

VIDEOS = "/v2/videos/zoom"


@pytest.fixture
def flow(make_client: Callable[..., TestClient]) -> Flow:
    client = make_client(engine=TexturedEngine())
    with services_of(client).db.write() as session:
        from outframe.services import keys

        _, plaintext = keys.create_key(session, name="video", credits_=1000)
    return Flow(client, {"X-API-Key": plaintext})


def render(flow: Flow, body: dict[str, Any]) -> tuple[dict[str, Any], list[np.ndarray[Any, Any]]]:
    job = flow.done(flow.submit(VIDEOS, body))
    frames, codec = decode(fetch(flow.client, job["result"]["videoUrl"]))
    expected = {"mp4": "h264", "webm": "vp9"}[body.get("format", "mp4")]
    assert codec == expected
    return job, frames


def test_zoom_out_and_in_through_three_steps_of_different_ratios(flow: Flow) -> None:
    # 3:2, and the three ratios of the issue: Midjourney's 2 and 1.5, and a custom 1.3.
    chain = zoom_chain(flow, texture(240, 360, seed=7), [2, 1.5, 1.3])
    images = [image_of(flow.client, flow.done(job_id)) for job_id in chain]
    fps, per_step = 8, 1.5
    before = flow.credits()

    job, frames = render(flow, {"jobId": chain[-1], "fps": fps, "secondsPerStep": per_step})
    assert job["action"] == "video" and job["parentJobId"] == chain[-1]
    result = job["result"]
    assert set(result) == {"videoUrl", "frames", "seconds", "width", "height"}
    assert (result["width"], result["height"]) == (360, 240)  # the images' own size
    assert abs(len(frames) - fps * per_step * 3) <= 1 and result["frames"] == len(frames)
    assert result["seconds"] == pytest.approx(len(frames) / fps)
    assert {frame.shape for frame in frames} == {(240, 360, 3)}
    assert job["creditCost"] == 1 and flow.credits() == before - 1  # 36 frames of 360 x 240
    assert psnr(frames[0], images[0]) >= 35  # out: from the innermost...
    assert psnr(frames[-1], images[-1]) >= 35  # ...to the outermost

    # Constant apparent speed: the same zoom between every two frames of the cruise (the
    # first and last half second ease in and out).
    ramp = math.ceil(0.5 * fps) + 1
    cruise = [zoom_between(a, b) for a, b in itertools.pairwise(frames[ramp:-ramp])]
    logs = np.log(cruise)
    assert np.all(logs < 0)  # every step zooms out
    middle = float(np.median(logs))
    assert np.max(np.abs(logs - middle)) <= 0.02 * abs(middle), cruise
    # ...at the speed that crosses the chain's whole zoom in the time asked for, less the
    # half second at each end spent speeding up and slowing down (at half the speed on average).
    ramp_part = 0.5 / (len(frames) / fps)
    speed = math.log(2 * 1.5 * 1.3) / (len(frames) - 1) / (1 - ramp_part)
    assert -middle == pytest.approx(speed, rel=0.02)

    # In, at another size: the reverse, smaller.
    job, frames = render(
        flow, {"jobId": chain[-1], "direction": "in", "fps": 8, "secondsPerStep": 1, "size": 180}
    )
    assert (job["result"]["width"], job["result"]["height"]) == (180, 120)
    assert {frame.shape for frame in frames} == {(120, 180, 3)}
    assert abs(len(frames) - 8 * 1 * 3) <= 1
    small = [cv2.resize(images[k], (180, 120), interpolation=cv2.INTER_AREA) for k in (0, -1)]
    assert psnr(frames[0], small[1]) >= 35  # in: from the outermost...
    assert psnr(frames[-1], small[0]) >= 35  # ...to the innermost
    assert zoom_between(frames[len(frames) // 2], frames[len(frames) // 2 + 1]) > 1


def test_webm_and_progress_and_the_job_view(flow: Flow) -> None:
    chain = zoom_chain(flow, texture(96, 96, seed=3), [2])
    job, frames = render(
        flow, {"jobId": chain[-1], "fps": 10, "secondsPerStep": 1, "format": "webm"}
    )
    assert job["result"]["videoUrl"].endswith("-video.webm")
    assert len(frames) == 10
    assert job["input"] == {"jobId": chain[-1], "fps": 10, "secondsPerStep": 1, "format": "webm"}
    listed = flow.client.get("/v2/jobs", params={"search": chain[-1]}, headers=flow.headers)
    assert job["id"] in {j["id"] for j in listed.json()["jobs"]}


def test_the_chain_must_end_in_an_upsample_of_a_zoom_out(flow: Flow) -> None:
    imported = flow.import_image(texture(64, 64, seed=1))
    message = api_error(
        flow.client.post(VIDEOS, json={"jobId": imported}, headers=flow.headers),
        400,
        "invalid_chain",
    )
    assert "nothing to zoom" in message
    grid = flow.generate()
    up = flow.upsample(grid, 2)
    api_error(flow.client.post(VIDEOS, json={"jobId": up}, headers=flow.headers), 400)
    outpaint = flow.action({"action": "outpaint", "parentJobId": up, "zoomRatio": 2})
    flow.done(outpaint)
    message = api_error(
        flow.client.post(VIDEOS, json={"jobId": outpaint}, headers=flow.headers),
        400,
        "invalid_parent",
    )
    assert "upsample" in message
    for bad in ({"fps": 0}, {"fps": 61}, {"secondsPerStep": 0}, {"size": 4000}, {"format": "gif"}):
        response = flow.client.post(VIDEOS, json={"jobId": up, **bad}, headers=flow.headers)
        api_error(response, 400)
    assert flow.credits() == 1000 - 16 - 4 - 16  # the grid, upsample and outpaint; no video


def test_another_accounts_job_and_an_unknown_one_are_404(
    flow: Flow, make_client: Callable[..., TestClient]
) -> None:
    chain = zoom_chain(flow, texture(64, 64, seed=2), [2])
    with services_of(flow.client).db.write() as session:
        from outframe.services import keys

        _, other = keys.create_key(session, name="other", credits_=100)
    response = flow.client.post(VIDEOS, json={"jobId": chain[-1]}, headers={"X-API-Key": other})
    api_error(response, 404, "parent_not_found")
    unknown = "00000000-0000-4000-8000-000000000000"
    api_error(flow.client.post(VIDEOS, json={"jobId": unknown}, headers=flow.headers), 404)


def test_a_chain_longer_than_the_limit_is_400_saying_it(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(engine=TexturedEngine(), video_max_steps=2)
    with services_of(client).db.write() as session:
        from outframe.services import keys

        _, plaintext = keys.create_key(session, name="video", credits_=1000)
    flow = Flow(client, {"X-API-Key": plaintext})
    chain = zoom_chain(flow, texture(64, 64, seed=4), [2, 2, 2])
    message = api_error(
        client.post(VIDEOS, json={"jobId": chain[-1]}, headers=flow.headers), 400, "chain_too_long"
    )
    assert "limit of 2" in message and "OUTFRAME_VIDEO_MAX_STEPS" in message
    # Two steps of it are within the limit.
    flow.done(flow.submit(VIDEOS, {"jobId": chain[-2], "fps": 4, "secondsPerStep": 1}))


def test_idempotent_repeat_and_cancel_refund(flow: Flow) -> None:
    chain = zoom_chain(flow, texture(64, 64, seed=5), [1.5])
    body = {"jobId": chain[-1], "fps": 5, "secondsPerStep": 1}
    headers = {**flow.headers, "Idempotency-Key": "video-1"}
    first = flow.client.post(VIDEOS, json=body, headers=headers)
    again = flow.client.post(VIDEOS, json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["jobId"] == again.json()["jobId"]
    job = wait_for(flow.client, flow.headers, first.json()["jobId"])
    assert job["status"] == "COMPLETED"
    conflict = flow.client.post(VIDEOS, json={**body, "fps": 6}, headers=headers)
    api_error(conflict, 409, "idempotency_key_reused")


def test_cancel_mid_render_refunds_and_publishes_nothing(flow: Flow) -> None:
    chain = zoom_chain(flow, texture(64, 64, seed=6), [2])
    before = flow.credits()
    # 600 frames at 1024 px: seconds of work, cancelled a few frames in.
    body = {"jobId": chain[-1], "fps": 60, "secondsPerStep": 10, "size": 1024}
    job_id = flow.submit(VIDEOS, body)
    deadline = time.monotonic() + 60
    while (job := flow.client.get(f"/v2/jobs/{job_id}", headers=flow.headers).json())[
        "progress"
    ] == 0:
        assert job["status"] in ("QUEUED", "PROCESSING") and time.monotonic() < deadline, job
        time.sleep(0.02)
    assert flow.credits() == before - job["creditCost"]
    response = flow.client.post(f"/v2/jobs/{job_id}/cancel", headers=flow.headers)
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    assert flow.credits() == before
    services = services_of(flow.client)
    scratch = services.settings.scratch_dir
    while list(scratch.glob(f"{job_id}.*.part")):  # the worker stops at its next frame
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert not (services.settings.images_dir / f"{job_id}-video.mp4").exists()
    assert wait_for(flow.client, flow.headers, job_id)["result"] is None


def test_a_video_job_through_apiframe_v1_fetch(flow: Flow) -> None:
    chain = zoom_chain(flow, texture(64, 64, seed=8), [1.5])
    job = flow.done(flow.submit(VIDEOS, {"jobId": chain[-1], "fps": 4, "secondsPerStep": 1}))
    task = flow.client.post("/fetch", json={"task_id": job["id"]}, headers=flow.headers).json()
    assert task["task_type"] == "zoom-video" and task["status"] == "finished"
    assert task["video_url"] == job["result"]["videoUrl"]


def test_make_square_is_a_step_and_the_geometry_is_the_outpaints(flow: Flow) -> None:
    # A 3:2 import, Make Square (apiframe v1's outpaint with zoom_ratio 1), then a 2x zoom-out:
    # the square video starts on the import's central square and ends on the last image.
    start = texture(160, 240, seed=9)
    wide = flow.import_image(start)
    answer = flow.client.post(
        "/outpaint",
        json={"parent_task_id": wide, "zoom_ratio": 1},
        headers={"Authorization": flow.headers["X-API-Key"]},
    )
    square = flow.done(answer.json()["task_id"])
    assert flow.done(square["id"])["action"] == "outpaint"
    up = flow.upsample(square["id"], 3)
    zoom = flow.action({"action": "outpaint", "parentJobId": up, "zoomRatio": 2})
    flow.done(zoom)
    last = flow.upsample(zoom, 1)
    body = {"jobId": last, "fps": 10, "secondsPerStep": 1}
    job, frames = render(flow, body)
    assert (job["result"]["width"], job["result"]["height"]) == (240, 240)
    assert abs(len(frames) - 20) <= 1
    centre = cv2.resize(start[:, 40:200], (240, 240), interpolation=cv2.INTER_LINEAR)
    assert psnr(frames[0], centre) >= 35  # the import's central square, enlarged
    assert psnr(frames[-1], image_of(flow.client, flow.done(last))) >= 35

    # An outpaint made before outpaints recorded where they put their parent: the same
    # geometry, derived from its ratio and its parent's size.
    services = services_of(flow.client)
    from outframe.store.models import JOBS

    with services.db.write() as session:
        for job_id in (square["id"], zoom):
            row = session.execute(JOBS.select().where(JOBS.c.id == job_id)).one()
            params = {k: v for k, v in row.params.items() if k != "placement"}
            session.execute(JOBS.update().where(JOBS.c.id == job_id).values(params=params))
    second, again = render(flow, body)
    with services.db.session() as session:
        chains = [
            session.execute(JOBS.select().where(JOBS.c.id == j["id"])).one().params["chain"]
            for j in (job, second)
        ]
    assert chains[0] == chains[1] and chains[0][1]["inside"] == [0, 40, 240, 160]
    assert len(again) == len(frames)
    assert min(psnr(a, b) for a, b in zip(again, frames, strict=True)) >= 40


def test_the_endpoint_is_in_the_openapi_document(flow: Flow) -> None:
    spec = flow.client.get("/openapi.json").json()
    operation = spec["paths"]["/v2/videos/zoom"]["post"]
    assert {"202", "400", "402", "404", "409", "501"} <= set(operation["responses"])
    assert operation["security"] == [{"ApiKey": []}]
    fields = spec["components"]["schemas"]["ZoomVideoRequest"]["properties"]
    assert {"jobId", "direction", "fps", "secondsPerStep", "size", "format"} <= set(fields)
    result = spec["components"]["schemas"]["JobResult"]["properties"]
    assert {"videoUrl", "frames", "seconds", "width", "height"} <= set(result)


def test_retention_deletes_the_video_and_a_purged_step_is_refused(flow: Flow) -> None:
    from datetime import timedelta

    from outframe.services.clock import utcnow
    from outframe.services.retention import purge_expired
    from outframe.store.models import JOBS

    chain = zoom_chain(flow, texture(64, 64, seed=10), [2, 2])
    job = flow.done(flow.submit(VIDEOS, {"jobId": chain[-1], "fps": 4, "secondsPerStep": 1}))
    services = services_of(flow.client)
    name = f"{job['id']}-video.mp4"
    assert (services.settings.images_dir / name).exists()
    old = utcnow() - timedelta(days=91)
    with services.db.write() as session:
        for job_id in (job["id"], chain[0]):  # the video, and the chain's first image
            session.execute(JOBS.update().where(JOBS.c.id == job_id).values(completed_at=old))
    assert purge_expired(services.db, services.storage, days=90) == 2
    assert not (services.settings.images_dir / name).exists()
    assert flow.done(job["id"])["expired"] is True
    message = api_error(
        flow.client.post(VIDEOS, json={"jobId": chain[-1]}, headers=flow.headers),
        400,
        "invalid_chain",
    )
    assert "retention" in message and chain[0] in message
