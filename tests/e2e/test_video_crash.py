"""A zoom video whose server is killed mid-render: the job is run again and completes once,
and its file is never served half-written."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import ServerProcess, ledger_and_attempts
from tests.e2e.test_server import create_key, make_api  # noqa: F401  (a fixture)
from tests.video.chains import decode

pytestmark = [pytest.mark.slow]
pytest.importorskip("av", reason="zoom videos need the [video] extra (PyAV)")

SETTINGS = {"engine": "fake", "image_size": "256", "lease_seconds": "1", "poll_seconds": "0.1"}


def test_sigkill_mid_render_retries_and_never_serves_a_part(
    tmp_path: Path,
    make_api: Any,  # noqa: F811
) -> None:
    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, **SETTINGS).start()
    key = create_key(data_dir, 1000)
    api = make_api(first.url, key)
    grid = api.wait(api.post("/v2/images/generate", {"prompt": "crash"}))["id"]
    action = "/v2/images/midjourney/action"
    up = api.wait(api.post(action, {"action": "upsample", "parentJobId": grid, "index": 1}))
    out = api.wait(
        api.post(action, {"action": "outpaint", "parentJobId": up["id"], "zoomRatio": 2})
    )
    last = api.wait(api.post(action, {"action": "upsample", "parentJobId": out["id"], "index": 2}))
    # 240 frames at 1024 px: long enough to be killed in the middle of.
    body = {"jobId": last["id"], "fps": 30, "secondsPerStep": 8, "size": 1024}
    response = api.http.post("/v2/videos/zoom", json=body)
    assert response.status_code == 202, response.text
    job_id = response.json()["jobId"]
    deadline = time.monotonic() + 60
    while True:
        job = api.http.get(f"/v2/jobs/{job_id}").json()
        if job["status"] == "PROCESSING" and job["progress"] > 0:
            break
        assert job["status"] in ("QUEUED", "PROCESSING") and time.monotonic() < deadline, job
        time.sleep(0.05)
    first.kill()

    name = f"{job_id}-video.mp4"
    assert not (data_dir / "images" / name).exists()
    assert list((data_dir / "scratch").glob(f"{job_id}.*.part")), "the render was under way"

    second = ServerProcess(data_dir, **SETTINGS).start()
    try:
        api = make_api(second.url, key)
        url = f"{second.url}/cdn/{name}"
        while (job := api.http.get(f"/v2/jobs/{job_id}").json())["status"] != "COMPLETED":
            assert job["status"] in ("QUEUED", "PROCESSING"), job
            served = httpx.get(url)
            # Nothing is served before it is whole (the file is published just before the job
            # completes: if it is there, it is all there).
            assert served.status_code == 404 or len(decode(served.content)[0]) == 240
            assert time.monotonic() < deadline + 120
            time.sleep(0.2)
        frames, codec = decode(httpx.get(job["result"]["videoUrl"]).content)
        assert codec == "h264" and len(frames) == 240 == job["result"]["frames"]
        assert not list((data_dir / "scratch").glob("*.part"))
        kinds, attempts = ledger_and_attempts(data_dir, job_id)
        assert kinds == ["hold", "post"] and attempts == 2
        assert api.credits() == 1000 - 16 - 4 - 16 - 4 - job["creditCost"]
    finally:
        second.stop()
