"""Uploads a hostile client can send (found by an audit of a running server): tiny files that
decode to gigabytes, free imports without end, deep images. Each is refused or bounded, and
what is refused leaves nothing stored and charges nothing."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from outframe.services.decoding import PixelBudget
from tests.conftest import Flow, api_error, b64png, png_bytes, services_of

ACTION = "/v2/images/midjourney/action"
MISSING = "00000000-0000-4000-8000-000000000000"


@cache
def white_8000() -> bytes:
    """An all-white 8000 x 8000 greyscale PNG: 79 KB that decode to 64 MB (the audit's mask)."""
    return png_bytes(Image.new("L", (8000, 8000), 255))


def stored(client: TestClient) -> list[str]:
    root = services_of(client).storage.root  # type: ignore[attr-defined]
    return sorted(path.name for path in root.iterdir() if not path.name.startswith("."))


@pytest.mark.parametrize("parent", ["missing", "small"])
def test_an_8000_square_mask_is_refused_before_it_is_decoded(
    flow: Flow, parent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent_id = MISSING if parent == "missing" else flow.import_image(np.zeros((64, 64, 3), "u1"))
    before, kept = flow.credits(), stored(flow.client)
    decoded: list[object] = []
    monkeypatch.setattr("outframe.api.uploads.decode_mask", decoded.append)
    mask = base64.b64encode(white_8000()).decode()
    response = flow.client.post(
        ACTION,
        json={"action": "inpaint", "parentJobId": parent_id, "mask": mask},
        headers=flow.headers,
    )
    message = api_error(response, 400, "invalid_mask")
    assert "8000x8000" in message and "OUTFRAME_MAX_CANVAS_PIXELS" in message
    assert decoded == [] and stored(flow.client) == kept and flow.credits() == before


def test_the_parent_is_checked_before_the_mask_is_decoded(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[object] = []
    monkeypatch.setattr("outframe.api.uploads.decode_mask", decoded.append)
    mask = b64png(np.full((512, 512), 255, np.uint8))
    missing = flow.client.post(
        ACTION,
        json={"action": "inpaint", "parentJobId": MISSING, "mask": mask},
        headers=flow.headers,
    )
    api_error(missing, 404, "parent_not_found")
    parent = flow.import_image(np.zeros((64, 48, 3), np.uint8))
    wrong_size = flow.client.post(
        ACTION,
        json={"action": "inpaint", "parentJobId": parent, "mask": mask},
        headers=flow.headers,
    )
    assert "512x512" in api_error(wrong_size, 400, "invalid_mask")
    assert decoded == [] and not [n for n in stored(flow.client) if "mask" in n]


def test_an_inpaint_stores_its_mask_as_one_grey_channel(flow: Flow) -> None:
    parent = flow.import_image(np.zeros((64, 64, 3), np.uint8))
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 255
    job_id = flow.action({"action": "inpaint", "parentJobId": parent, "mask": b64png(mask)})
    flow.done(job_id)
    kept = Image.open(io.BytesIO(services_of(flow.client).storage.get(f"{job_id}-mask.png")))
    assert kept.mode == "L" and np.array_equal(np.asarray(kept), mask)


def test_imports_stop_at_the_team_quota(
    make_client: Callable[..., TestClient], make_key: Callable[..., dict[str, str]]
) -> None:
    client = make_client(import_quota_bytes=60_000)
    flow, other = Flow(client, make_key()), Flow(client, make_key())
    noise = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)  # ~30 KB
    flow.import_image(noise)
    kept = stored(client)
    refused = client.post(
        "/v2/images/import",
        files={"image": ("n.png", png_bytes(noise), "image/png")},
        headers=flow.headers,
    )
    message = api_error(refused, 413, "storage_quota_exceeded")
    assert "OUTFRAME_IMPORT_QUOTA_BYTES" in message and "60000" in message
    assert refused.json()["quotaBytes"] == 60_000
    assert stored(client) == kept  # nothing left behind
    small = np.zeros((8, 8, 3), np.uint8)
    flow.import_image(small)  # what still fits is taken
    other.import_image(noise)  # the quota is the team's
    assert len(stored(client)) == len(kept) + 2


def test_a_jpeg_import_is_kept_as_a_jpeg_and_can_be_worked_on(flow: Flow) -> None:
    noise = np.random.default_rng(2).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="JPEG", quality=85)
    response = flow.client.post(
        "/v2/images/import",
        files={"image": ("n.jpg", buf.getvalue(), "image/jpeg")},
        headers=flow.headers,
    )
    assert response.status_code == 201, response.text
    job = flow.done(response.json()["jobId"])
    image = flow.client.get(job["result"]["images"][0])
    assert image.headers["content-type"] == "image/jpeg"
    assert len(image.content) <= 1.05 * len(buf.getvalue())  # a PNG of it is 3 times larger
    outpaint = flow.action({"action": "outpaint", "parentJobId": job["id"], "zoomRatio": 2})
    flow.done(outpaint)


def test_a_16_bit_gradient_is_imported_as_a_ramp(flow: Flow) -> None:
    ramp = np.tile(np.linspace(0, 65535, 512).astype(np.uint16), (4, 1))
    response = flow.client.post(
        "/v2/images/import",
        files={"image": ("ramp.png", png_bytes(Image.fromarray(ramp)), "image/png")},
        headers=flow.headers,
    )
    assert response.status_code == 201, response.text
    job = flow.done(response.json()["jobId"])
    image = np.asarray(Image.open(io.BytesIO(flow.client.get(job["result"]["images"][0]).content)))
    grey = image if image.ndim == 2 else image[..., 0]
    assert np.abs(grey.astype(float) - ramp / 257).max() <= 1


def test_the_pixel_budget_admits_in_order_and_never_over() -> None:
    async def run() -> list[str]:
        budget = PixelBudget(100)
        log: list[str] = []
        peak = 0

        async def decode(name: str, pixels: int, release: asyncio.Event) -> None:
            nonlocal peak
            async with budget.hold(pixels):
                if name == "d":
                    assert budget.in_use == 500  # alone
                else:
                    peak = max(peak, budget.in_use)
                log.append(name)
                await release.wait()

        gates = {name: asyncio.Event() for name in "abcd"}
        tasks = [
            asyncio.create_task(decode("a", 60, gates["a"])),
            asyncio.create_task(decode("b", 60, gates["b"])),  # waits for a
            asyncio.create_task(decode("c", 10, gates["c"])),  # fits, but waits behind b
            asyncio.create_task(decode("d", 500, gates["d"])),  # larger than all: runs alone
        ]
        await asyncio.sleep(0)
        assert log == ["a"]
        tasks[1].cancel()  # b gives up waiting: c goes next, beside a
        for _ in range(3):
            await asyncio.sleep(0)
        assert log == ["a", "c"]
        gates["a"].set()
        gates["c"].set()
        await asyncio.wait_for(asyncio.gather(tasks[0], tasks[2]), 5)
        for _ in range(3):
            await asyncio.sleep(0)
        assert log == ["a", "c", "d"]
        gates["d"].set()
        await asyncio.wait_for(tasks[3], 5)
        assert peak == 70  # a and c together, never a and b
        assert budget.in_use == 0
        return log

    assert asyncio.run(run()) == ["a", "c", "d"]
