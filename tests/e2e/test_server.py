"""A real server process over HTTP: the generate -> upsample -> zoom out chain, and a crash."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.client import Api, run_chain
from tests.e2e.server import ServerProcess, ledger_and_attempts, outframe_cli
from tests.sse import sse_events

pytestmark = pytest.mark.slow


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
    run_chain(make_api(server.url, create_key(server.data_dir, 1000)), side=256)


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
        kinds, attempts = ledger_and_attempts(data_dir, job_id)
        assert kinds == ["hold", "post"]
        assert attempts == 2
    finally:
        second.stop()


def test_events_stream_over_real_http(tmp_path: Path, make_api: Any) -> None:
    """Through uvicorn, each event arrives as it happens (nothing buffers the stream): progress
    events while the job runs, then completed, then the end of the response."""
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, engine="fake", fake_engine_seconds="3").start()
    try:
        api = make_api(server.url, create_key(data_dir, 100))
        job_id = api.post("/v2/images/generate", {"prompt": "a lake"})
        seen: list[tuple[str, str, int]] = []
        with api.http.stream("GET", f"/v2/jobs/{job_id}/events") as response:
            assert response.status_code == 200
            for name, data in sse_events(response.iter_lines()):
                first_running = (
                    data["status"] == "PROCESSING"
                    and data["progress"]
                    and not any(status == "PROCESSING" and p for _, status, p in seen)
                )
                seen.append((name, data["status"], data["progress"]))
                if first_running:
                    # The first progress arrives while the job runs (some 2 s of work left).
                    assert api.http.get(f"/v2/jobs/{job_id}").json()["status"] == "PROCESSING"
        running = [p for name, status, p in seen if status == "PROCESSING" and p]
        assert len(running) >= 2 and running == sorted(running), seen
        assert seen[-1] == ("completed", "COMPLETED", 100)
    finally:
        server.stop()
