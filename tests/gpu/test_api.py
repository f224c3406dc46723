"""The diffusers engine behind a real server process, over HTTP: every action end to end, and
a worker process that is killed or runs out of memory mid-job."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import trustme

from outframe.imaging import canvas as geometry
from tests.conftest import b64png
from tests.e2e.client import Api
from tests.e2e.server import ServerProcess, outframe_cli
from tests.webhooks.receiver import Receiver, write_ca

pytestmark = pytest.mark.slow


def diffusers_server(data_dir: Path, models: tuple[Path, Path], **settings: str) -> ServerProcess:
    text, inpaint = models
    defaults = {
        "engine": "diffusers",
        "diffusers_model": str(text),
        "diffusers_inpaint_model": str(inpaint),
        "diffusers_steps": "2",
        "diffusers_cpu_threads": "1",
        "image_size": "64",
        "poll_seconds": "0.1",
    }
    return ServerProcess(data_dir, **{**defaults, **settings}).start(timeout=180)


def make_key(data_dir: Path, credits: int = 1000) -> str:
    out = outframe_cli(data_dir, "keys", "create", "--name", "gpu", "--credits", str(credits))
    return out.strip().splitlines()[-1]


def engine_process(server: ServerProcess) -> int:
    """The pid of the server's diffusion worker (a spawned child, not the resource tracker)."""
    assert server.proc is not None
    pid = server.proc.pid
    children: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += (task / "children").read_text().split()
    for child in children:
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in cmdline:
            return int(child)
    raise AssertionError(f"no diffusion worker among {children}")


def distinct(images: list[np.ndarray[Any, Any]]) -> bool:
    return all(
        np.abs(a.astype(int) - b.astype(int)).mean() > 1
        for i, a in enumerate(images)
        for b in images[i + 1 :]
    )


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server(
    tiny_models: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("gpu-server")
    proc = diffusers_server(
        data_dir,
        tiny_models,
        webhook_allow_networks="127.0.0.0/8",
        webhook_ca_bundle=str(write_ca(ca, data_dir)),
    )
    yield proc
    proc.stop()


def test_every_action_through_the_api(server: ServerProcess, ca: trustme.CA) -> None:
    api = Api(server.url, make_key(server.data_dir))
    with Receiver(ca) as receiver:
        hook = f"https://127.0.0.1:{receiver.port}/hook"
        grid_id = api.post(
            "/v2/images/generate",
            {
                "prompt": "a lighthouse at dusk --ar 3:2",
                "webhookUrl": hook,
                "webhookEvents": ["progress", "completed"],
            },
        )
        grid = api.wait(grid_id)
        assert grid["progress"] == 100
        images = [api.image(url) for url in grid["result"]["images"]]
        assert len(images) == 4 and distinct(images)
        height, width = images[0].shape[:2]
        assert (width, height) == geometry.aspect_size((3, 2), 64)  # as every engine sizes it
        deadline = time.monotonic() + 30
        while api.http.get(f"/v2/jobs/{grid_id}").json()["webhookStatus"] != "delivered":
            assert time.monotonic() < deadline, "the completed webhook was not delivered"
            time.sleep(0.05)
        events = {json.loads(r.body)["event"] for r in receiver.wait_for(2, "/hook")}
        assert events == {"progress", "completed"}

    up_id, upsampled = api.upsample(grid_id, 2)
    assert np.array_equal(upsampled, images[1])

    outpaint_id = api.outpaint(up_id, upsampled, 2.0)  # checks the kept centre and the grid
    outpainted = [api.image(url) for url in api.wait(outpaint_id)["result"]["images"]]
    assert distinct(outpainted)

    pan = api.wait(
        api.post(
            "/v2/images/midjourney/action",
            {"action": "pan", "parentJobId": up_id, "direction": "left"},
        )
    )
    panned = [api.image(url) for url in pan["result"]["images"]]
    for image in panned:
        assert image.shape == (height, width + width // 2, 3)
        assert np.array_equal(image[:, width // 2 :], upsampled)
    assert distinct([image[:, : width // 2] for image in panned])

    mask = np.zeros((height, width), np.uint8)
    mask[height // 4 : height * 3 // 4, width // 4 : width * 3 // 4] = 255
    inpaint = api.wait(
        api.post(
            "/v2/images/midjourney/action",
            {"action": "inpaint", "parentJobId": up_id, "mask": b64png(mask), "prompt": "a boat"},
        )
    )
    repainted = [api.image(url) for url in inpaint["result"]["images"]]
    for image in repainted:
        assert np.array_equal(image[mask == 0], upsampled[mask == 0])
    assert distinct([image[mask > 0] for image in repainted])

    variation = api.wait(
        api.post(
            "/v2/images/midjourney/action",
            {"action": "variation", "parentJobId": grid_id, "index": 3},
        )
    )
    varied = [api.image(url) for url in variation["result"]["images"]]
    assert all(image.shape == images[2].shape for image in varied) and distinct(varied)
    api.close()


def wait_status(api: Api, job_id: str, status: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = api.http.get(f"/v2/jobs/{job_id}").json()
        if job["status"] == status:
            return job
        assert job["status"] in ("QUEUED", "PROCESSING"), job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {status}")


def test_worker_killed_mid_job_fails_the_job_and_the_next_one_runs(
    tiny_models: tuple[Path, Path], tmp_path: Path
) -> None:
    # Enough steps that the job is still denoising when the worker is killed.
    server = diffusers_server(tmp_path / "data", tiny_models, diffusers_steps="60")
    try:
        api = Api(server.url, make_key(server.data_dir, credits=100))
        job_id = api.post("/v2/images/generate", {"prompt": "a slow one"})
        deadline = time.monotonic() + 60
        while api.http.get(f"/v2/jobs/{job_id}").json()["progress"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(engine_process(server), signal.SIGKILL)
        failed = wait_status(api, job_id, "FAILED")
        assert "diffusion worker process died (killed by SIGKILL)" in failed["error"]
        assert api.credits() == 100  # refunded
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        next_job = wait_status(api, api.post("/v2/images/generate", {"prompt": "x"}), "COMPLETED")
        assert len(next_job["result"]["images"]) == 4
        api.close()
    finally:
        server.stop()


def test_out_of_memory_fails_the_job_clearly_and_the_next_one_runs(
    tiny_models: tuple[Path, Path], tmp_path: Path
) -> None:
    server = diffusers_server(tmp_path / "data", tiny_models, test_engine_fault="oom")
    try:
        api = Api(server.url, make_key(server.data_dir, credits=100))
        pid = engine_process(server)
        failed = wait_status(api, api.post("/v2/images/generate", {"prompt": "big"}), "FAILED")
        assert "the device ran out of memory" in failed["error"]
        assert "OUTFRAME_DIFFUSERS_SIZE" in failed["error"]  # and what to do about it
        assert api.credits() == 100
        done = wait_status(api, api.post("/v2/images/generate", {"prompt": "x"}), "COMPLETED")
        assert len(done["result"]["images"]) == 4
        assert engine_process(server) == pid  # recovered in place: the models stayed loaded
        api.close()
    finally:
        server.stop()
