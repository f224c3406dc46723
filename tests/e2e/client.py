"""An apiframe client for tests against real server processes."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import numpy as np
from PIL import Image

from tests.conftest import area_downscale, png_bytes, psnr


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


def run_chain(api: Api, side: int) -> None:
    """The whole chain a client runs: generate, upsample, zoom out 2x, upsample one of its
    results, zoom out 1.5x; then import a photo and zoom out. Every image is fetched and checked;
    the balance must end 1000 less exactly what the completed jobs cost."""
    grid = api.wait(api.post("/v2/images/generate", {"prompt": "a quiet lake at dawn"}))
    for url in grid["result"]["images"]:
        assert api.image(url).shape == (side, side, 3)
    assert api.image(grid["result"]["gridUrl"]).shape == (2 * side, 2 * side, 3)

    up_id, up = api.upsample(grid["id"], 2)
    assert up.shape == (side, side, 3)
    out_id = api.outpaint(up_id, up, 2)
    up2_id, up2 = api.upsample(out_id, 3)
    api.outpaint(up2_id, up2, 1.5)
    assert api.credits() == 1000 - 16 - 4 - 16 - 4 - 16

    from skimage import data

    photo = np.ascontiguousarray(data.astronaut()[::2, ::2])  # 256 x 256
    response = api.http.post(
        "/v2/images/import", files={"image": ("astronaut.png", png_bytes(photo), "image/png")}
    )
    assert response.status_code == 201 and response.json()["status"] == "COMPLETED"
    imported = response.json()["jobId"]
    stored = api.image(api.wait(imported)["result"]["images"][0])
    assert np.array_equal(stored, photo)
    api.outpaint(imported, photo, 2)
    assert api.credits() == 1000 - 16 - 4 - 16 - 4 - 16 - 16
