"""outframe.client against a real server process: every method, the errors, 429s, retries that
never make a second job, and wait() by the event stream and by polling."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from outframe.client import (
    AsyncClient,
    AuthenticationError,
    BadRequest,
    Client,
    Conflict,
    InsufficientCredits,
    Job,
    JobCancelled,
    JobFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    WaitTimeout,
)
from tests.client.conftest import create_key, start_server
from tests.client.proxy import Proxy
from tests.conftest import png_bytes
from tests.e2e.server import ServerProcess, outframe_cli

pytestmark = pytest.mark.slow


def photo(width: int = 64, height: int = 48) -> bytes:
    rng = np.random.default_rng(7)
    return png_bytes(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def test_every_method(server: ServerProcess, key: str, tmp_path: Path) -> None:
    with Client(server.url, key) as client:
        grid = client.wait(client.generate("a lighthouse --seed 3", aspect_ratio="3:2").job_id)
        assert grid.status == "COMPLETED" and grid.action == "generate"
        assert len(grid.images) == 4 and grid.grid_url and grid.is_grid

        up = client.wait(client.upsample(grid.id, 2).job_id)
        assert (up.action, up.parent_job_id, len(up.images)) == ("upsample", grid.id, 1)
        vary = client.wait(client.variation(grid.id, 1, prompt="at night").job_id)
        assert vary.action == "variation" and len(vary.images) == 4
        zoom = client.wait(client.outpaint(up.id, 1.5).job_id)
        assert zoom.action == "outpaint" and zoom.parent_job_id == up.id
        pan = client.wait(client.pan(up.id, "left").job_id)
        assert pan.action == "pan"

        imported = client.import_image(photo())
        assert imported.status == "COMPLETED"
        (tmp_path / "photo.png").write_bytes(photo())
        from_path = client.wait(client.import_image(tmp_path / "photo.png").job_id)
        assert from_path.action == "import" and from_path.credit_cost == 0
        mask = np.zeros((48, 64, 3), dtype=np.uint8)
        mask[10:30, 20:40] = 255
        (tmp_path / "mask.png").write_bytes(png_bytes(mask))
        inpaint = client.wait(client.inpaint(imported.job_id, tmp_path / "mask.png").job_id)
        assert inpaint.action == "inpaint" and inpaint.parent_job_id == imported.job_id

        assert client.get(zoom.id) == zoom
        page = client.list(limit=3)
        assert [job.id for job in page.jobs] == [inpaint.id, from_path.id, imported.job_id]
        assert page.has_more and page.next_cursor
        rest = client.list(limit=100, cursor=page.next_cursor)
        assert {job.id for job in rest.jobs} == {grid.id, up.id, vary.id, zoom.id, pan.id}
        assert not rest.has_more
        assert [job.id for job in client.list(status="COMPLETED", limit=1).jobs] == [inpaint.id]

        account = client.me()
        assert account.credits == 1000 - 16 - 4 - 16 - 16 - 16 - 16
        assert account.key_name == "client" and account.max_concurrent_jobs == 3
        assert client.webhooks(grid.id)["deliveries"] == []
        with pytest.raises(BadRequest) as nothing:
            client.redeliver(grid.id)
        assert nothing.value.code == "nothing_to_redeliver"

        saved = client.download(zoom, tmp_path / "zoom", grid=True)
        assert [p.name for p in saved] == [f"{zoom.id}-{n}.png" for n in (1, 2, 3, 4, "grid")]
        # (an outpaint keeps its parent's size)
        assert {pixels(path.read_bytes()).shape for path in saved[:4]} == {
            pixels(httpx.get(up.images[0]).content).shape
        }
        by_id = client.download(imported.job_id, tmp_path / "imported")
        assert np.array_equal(pixels(by_id[0].read_bytes()), pixels(photo()))


def test_zoom_video(server: ServerProcess, key: str, tmp_path: Path) -> None:
    pytest.importorskip("av", reason="zoom videos need the [video] extra (PyAV)")
    from tests.video.chains import decode

    with Client(server.url, key) as client:
        grid = client.wait(client.generate("a lighthouse").job_id)
        up = client.wait(client.upsample(grid.id, 1).job_id)
        zoom = client.wait(client.outpaint(up.id, 1.5).job_id)
        last = client.wait(client.upsample(zoom.id, 4).job_id)
        video = client.wait(
            client.zoom_video(last.id, direction="in", fps=6, seconds_per_step=1, size=96).job_id
        )
        assert video.action == "video" and video.parent_job_id == last.id
        assert video.images == [] and video.video_url and video.video_url.endswith(".mp4")
        assert (video.raw["result"]["width"], video.raw["result"]["height"]) == (96, 96)
        (saved,) = client.download(video, tmp_path)
        assert saved.name == f"{video.id}-video.mp4"
        frames, _ = decode(saved.read_bytes())
        assert len(frames) == 6 and frames[0].shape == (96, 96, 3)
        with pytest.raises(BadRequest) as refused:
            client.zoom_video(up.id)
        assert refused.value.code == "invalid_chain"


def pixels(png: bytes) -> np.ndarray[Any, Any]:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def test_async_client(server: ServerProcess, key: str, tmp_path: Path) -> None:
    seen: list[int] = []

    async def run() -> tuple[Job, Job, list[Path], int]:
        async with AsyncClient(server.url, key) as client:
            submitted = await client.generate("a harbour")
            job = await client.wait(submitted.job_id, on_progress=lambda j: seen.append(j.progress))
            # (the first wait followed the event stream; this one polls)
            up = await client.wait((await client.upsample(job.id, 4)).job_id, stream=False)
            saved = await client.download(up, tmp_path)
            return job, up, saved, (await client.me()).credits

    # In a thread of its own: the browser tests' session-long Playwright keeps an event loop
    # running in this one.
    with ThreadPoolExecutor(1) as pool:
        job, up, saved, credits = pool.submit(asyncio.run, run()).result()
    assert job.status == "COMPLETED" and seen[-1] == 100 and seen == sorted(seen)
    assert [p.name for p in saved] == [f"{up.id}-1.png"]
    assert credits == 1000 - 16 - 4


def test_errors_carry_the_apis_code_and_message(server: ServerProcess, key: str) -> None:
    with Client(server.url, "afk_not-a-key") as stranger, pytest.raises(AuthenticationError) as bad:
        stranger.me()
    assert (bad.value.status, bad.value.code, bad.value.message) == (
        401, "invalid_api_key", "Invalid API key",
    )  # fmt: skip
    assert bad.value.request_id

    with Client(server.url, key) as client:
        with pytest.raises(NotFound) as missing:
            client.get("00000000-0000-0000-0000-000000000000")
        assert missing.value.code == "job_not_found"
        grid = client.wait(client.generate("a field").job_id)
        with pytest.raises(BadRequest) as grid_zoom:
            client.outpaint(grid.id, 2)
        assert grid_zoom.value.code == "invalid_parent"
        assert "upsample one image of the grid first" in grid_zoom.value.message
        with pytest.raises(BadRequest) as bad_index:
            client.upsample(grid.id, 5)
        assert bad_index.value.code == "invalid_request"
        client.generate("once", idempotency_key="same-key")
        with pytest.raises(Conflict) as reused:
            client.generate("another prompt", idempotency_key="same-key")
        assert reused.value.code == "idempotency_key_reused"

    with Client(server.url, create_key(server, credits=10)) as poor:
        with pytest.raises(InsufficientCredits) as broke:
            poor.generate("too dear")
        assert broke.value.status == 402 and broke.value.body["cost"] == 16

    disabled = create_key(server)
    with Client(server.url, disabled) as client:
        key_id = client.me().key_id
        seen = time.monotonic()
        outframe_cli(server.data_dir, "keys", "disable", key_id)
        # The server remembers a checked key for OUTFRAME_AUTH_CACHE_SECONDS (1 s by default):
        # the refusal comes once that has lapsed (the CLI alone can take less on a fast machine).
        time.sleep(max(0.0, seen + 1.1 - time.monotonic()))
        with pytest.raises(PermissionDenied) as off:
            client.me()
        assert off.value.code and off.value.status == 403


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One POST a second per key (bursts of one), and jobs that time out (0.3 s of a 0.6 s job)."""
    proc = start_server(
        tmp_path_factory.mktemp("strict") / "data",
        rate_limit_submits_per_second="1",
        rate_limit_submit_burst="1",
        job_timeout_seconds="0.3",
    )
    yield proc
    proc.stop()


def test_429_waits_its_retry_after(strict_server: ServerProcess) -> None:
    key = create_key(strict_server)
    waits: list[tuple[str, float]] = []
    with Client(strict_server.url, key, max_retries=0) as impatient:
        impatient.generate("first")
        with pytest.raises(RateLimited) as refused:
            impatient.generate("second")
    assert refused.value.retry_after is not None and refused.value.retry_after >= 1
    with Client(strict_server.url, key) as client:
        client.retry.on_retry = lambda reason, seconds: waits.append((reason, seconds))
        jobs = [client.generate(f"burst {n}").job_id for n in range(2)]
        assert len(set(jobs)) == 2
        assert waits and all(reason == "HTTP 429" and s >= 1 for reason, s in waits)
        assert len(client.list(limit=100).jobs) == 3  # the refused one made nothing


def test_wait_raises_how_a_job_ended(strict_server: ServerProcess) -> None:
    with Client(strict_server.url, create_key(strict_server)) as client:
        job_id = client.generate("too slow for this server").job_id
        with pytest.raises(JobFailed) as failed:
            client.wait(job_id)
        assert failed.value.job.status == "FAILED" and "timed out" in (failed.value.job.error or "")
        assert failed.value.job.credit_cost == 0
        with pytest.raises(WaitTimeout) as late:
            client.wait(client.generate("not waited for long").job_id, timeout=0.05)
        assert late.value.job.status in ("QUEUED", "PROCESSING")


def test_cancel(idle_server: ServerProcess) -> None:
    with Client(idle_server.url, create_key(idle_server)) as client:
        waiting = client.generate("stays QUEUED: this server runs no workers")
        cancelled = client.cancel(waiting.job_id)
        assert cancelled.id == waiting.job_id and cancelled.status == "CANCELLED"
        with pytest.raises(JobCancelled) as ended:
            client.wait(waiting.job_id)
        assert ended.value.job.credit_cost == 0
        assert client.me().credits == 1000  # refunded
        with pytest.raises(Conflict) as again:
            client.cancel(waiting.job_id)
        assert again.value.code == "not_cancellable"
        assert client.models()["models"][0]["id"] == "midjourney"


def test_a_dropped_connection_retried_makes_one_job(server: ServerProcess, key: str) -> None:
    with Proxy(server.url, drop_posts=1) as proxy, Client(proxy.url, key) as client:
        retries: list[str] = []
        client.retry.on_retry = lambda reason, seconds: retries.append(reason)
        submitted = client.generate("through a bad network")
        # The server made the job and answered; the answer was lost; the client sent the same
        # request again under the same Idempotency-Key and got the same job back.
        assert proxy.paths("POST", "/v2/images/generate") == [None, 202]
        assert retries and "RemoteProtocolError" in retries[0]
        assert [job.id for job in client.list().jobs] == [submitted.job_id]
        assert client.me().credits == 1000 - 16
        assert client.wait(submitted.job_id).status == "COMPLETED"


def test_wait_polls_where_there_is_no_event_stream(
    server: ServerProcess, key: str, requests_to: Callable[[str, str], int]
) -> None:
    progress: list[tuple[str, int]] = []
    with Proxy(server.url, hide_events=True) as proxy, Client(proxy.url, key) as client:
        job_id = client.generate("polled").job_id
        job = client.wait(
            job_id,
            on_progress=lambda j: progress.append((j.status, j.progress)),
            poll_interval=0.05,
        )
        second = client.wait(client.upsample(job_id, 1).job_id, poll_interval=0.05)
    assert job.status == "COMPLETED" and second.status == "COMPLETED"
    assert progress[-1] == ("COMPLETED", 100) and len(progress) >= 3
    assert [p for _, p in progress] == sorted(p for _, p in progress)
    # One look for the stream, then polling only: the client remembers the server has none.
    assert proxy.paths("GET", f"/v2/jobs/{job_id}/events") == [404]
    assert len([p for m, p, _ in proxy.seen if p.endswith("/events")]) == 1
    assert len(proxy.paths("GET", f"/v2/jobs/{job_id}")) >= 3
    # (the server's own log: the proxy's 404 never reached it, the polls did)
    assert requests_to("GET", f"/v2/jobs/{job_id}/events") == 0
    assert requests_to("GET", f"/v2/jobs/{job_id}") == len(proxy.paths("GET", f"/v2/jobs/{job_id}"))


def test_wait_follows_the_event_stream(
    server: ServerProcess, key: str, requests_to: Callable[[str, str], int]
) -> None:
    progress: list[tuple[str, int]] = []
    with Client(server.url, key) as client:
        job_id = client.generate("streamed").job_id
        job = client.wait(job_id, on_progress=lambda j: progress.append((j.status, j.progress)))
        if client._flows.events_supported is False:
            pytest.skip("this server has no GET /v2/jobs/:id/events (issue 15)")
    assert job.status == "COMPLETED" and progress[-1] == ("COMPLETED", 100)
    assert any(0 < p < 100 for _, p in progress), progress
    assert requests_to("GET", f"/v2/jobs/{job_id}/events") == 1
    # Read once before the stream and once after its final event; no polling in between.
    assert requests_to("GET", f"/v2/jobs/{job_id}") == 2
