"""A real server process over HTTP: the generate -> upsample -> zoom out chain, and a crash."""

from __future__ import annotations

import io
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import area_downscale, png_bytes, psnr
from tests.e2e.server import ServerProcess, outframe_cli

pytestmark = pytest.mark.slow


class Api:
    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> str:
        response = self.http.post(path, json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["jobId"])

    def wait(self, job_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.http.get(f"/v2/jobs/{job_id}").json()
            if job["status"] == "COMPLETED":
                return job
            assert job["status"] != "FAILED", job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not complete")

    def image(self, url: str) -> np.ndarray[Any, Any]:
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        img = Image.open(io.BytesIO(response.content))
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB"))

    def outpaint(self, parent_id: str, parent: np.ndarray[Any, Any], ratio: float) -> str:
        job = self.wait(
            self.post(
                "/v2/images/midjourney/action",
                {"action": "outpaint", "parentJobId": parent_id, "zoomRatio": ratio},
            )
        )
        height, width = parent.shape[:2]
        inner_w, inner_h = round(width / ratio), round(height / ratio)
        x0, y0 = (width - inner_w) // 2, (height - inner_h) // 2
        expected = area_downscale(parent, inner_w, inner_h)
        assert len(job["result"]["images"]) == 4
        for url in job["result"]["images"]:
            result = self.image(url)
            assert result.shape == parent.shape
            assert psnr(result[y0 : y0 + inner_h, x0 : x0 + inner_w], expected) >= 40
        grid = self.image(job["result"]["gridUrl"])
        assert grid.shape == (2 * height, 2 * width, 3)
        return str(job["id"])

    def upsample(self, grid_id: str, index: int) -> tuple[str, np.ndarray[Any, Any]]:
        job = self.wait(
            self.post(
                "/v2/images/midjourney/action",
                {"action": "upsample", "parentJobId": grid_id, "index": index},
            )
        )
        return str(job["id"]), self.image(job["result"]["images"][0])

    def close(self) -> None:
        self.http.close()

    def credits(self) -> int:
        return int(self.http.get("/v2/me").json()["team"]["credits"])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", image_size="256", poll_seconds="0.1").start()
    yield proc
    proc.stop()


def create_key(data_dir: Path, credits: int) -> str:
    out = outframe_cli(data_dir, "keys", "create", "--name", "e2e", "--credits", str(credits))
    return out.strip().splitlines()[-1]


@pytest.fixture
def make_api() -> Iterator[Any]:
    made: list[Api] = []

    def make(url: str, key: str) -> Api:
        made.append(Api(url, key))
        return made[-1]

    yield make
    for api in made:
        api.close()


def test_generate_upsample_zoom_out_chain(server: ServerProcess, make_api: Any) -> None:
    api = make_api(server.url, create_key(server.data_dir, 1000))
    grid = api.wait(api.post("/v2/images/generate", {"prompt": "a quiet lake at dawn"}))
    for url in grid["result"]["images"]:
        assert api.image(url).shape == (256, 256, 3)
    assert api.image(grid["result"]["gridUrl"]).shape == (512, 512, 3)

    up_id, up = api.upsample(grid["id"], 2)
    assert up.shape == (256, 256, 3)
    out_id = api.outpaint(up_id, up, 2)
    up2_id, up2 = api.upsample(out_id, 3)
    api.outpaint(up2_id, up2, 1.5)
    assert api.credits() == 1000 - 16 - 4 - 16 - 4 - 16

    # An imported photo works the same way.
    from skimage import data

    photo = data.astronaut()[::2, ::2]  # 256 x 256
    response = api.http.post(
        "/v2/images/import", files={"image": ("astronaut.png", png_bytes(photo), "image/png")}
    )
    assert response.status_code == 201 and response.json()["status"] == "COMPLETED"
    imported = response.json()["jobId"]
    stored = api.image(api.wait(imported)["result"]["images"][0])
    assert np.array_equal(stored, photo)
    api.outpaint(imported, photo, 2)
    assert api.credits() == 1000 - 16 - 4 - 16 - 4 - 16 - 16


def test_sigkill_mid_job_completes_exactly_once(tmp_path: Path, make_api: Any) -> None:
    data_dir = tmp_path / "data"
    settings = {
        "engine": "fake",
        "fake_engine_seconds": "3",
        "lease_seconds": "1",
        "poll_seconds": "0.1",
    }
    first = ServerProcess(data_dir, **settings).start()
    key = create_key(data_dir, 100)
    api = make_api(first.url, key)
    job_id = api.post("/v2/images/generate", {"prompt": "crash test"})
    deadline = time.monotonic() + 30
    while api.http.get(f"/v2/jobs/{job_id}").json()["status"] != "PROCESSING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.kill()

    second = ServerProcess(data_dir, **settings).start()
    try:
        api = make_api(second.url, key)
        job = api.wait(job_id, timeout=60)
        assert job["creditCost"] == 16
        assert api.credits() == 100 - 16
        db = sqlite3.connect(data_dir / "outframe.db")
        try:
            kinds = sorted(
                k for (k,) in db.execute("SELECT kind FROM ledger WHERE job_id = ?", (job_id,))
            )
            (attempts,) = db.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()
        finally:
            db.close()
        assert kinds == ["hold", "post"]
        assert attempts == 2
    finally:
        second.stop()
