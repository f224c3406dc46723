"""A webhook survives the receiver being down and the server being killed meanwhile."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import trustme

from tests.e2e.server import ServerProcess, free_port, outframe_cli
from tests.webhooks.receiver import Receiver, write_ca

pytestmark = pytest.mark.slow


def test_delivered_after_receiver_returns_across_a_server_kill(tmp_path: Path) -> None:
    ca = trustme.CA()
    data_dir = tmp_path / "data"
    settings = {
        "engine": "fake",
        "poll_seconds": "0.1",
        "webhook_allow_networks": "127.0.0.0/8",
        "webhook_ca_bundle": str(write_ca(ca, tmp_path)),
        "webhook_retry_seconds": "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
    }
    port = free_port()  # nothing listens here yet: the receiver is down
    key = outframe_cli(data_dir, "keys", "create", "--name", "hooks", "--credits", "100")
    headers = {"X-API-Key": key.strip().splitlines()[-1]}

    first = ServerProcess(data_dir, **settings).start()
    job_id = httpx.post(
        f"{first.url}/v2/images/generate",
        headers=headers,
        json={"prompt": "x", "webhookUrl": f"https://127.0.0.1:{port}/hook"},
    ).json()["jobId"]
    deadline = time.monotonic() + 30
    while True:  # wait for a failed attempt, so the retry is what must survive the kill
        history = httpx.get(f"{first.url}/v2/jobs/{job_id}/webhooks", headers=headers).json()
        if history["deliveries"] and history["deliveries"][0]["attempts"]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert history["webhookStatus"] == "pending"
    assert history["deliveries"][0]["attempts"][0]["statusCode"] is None
    first.kill()

    with Receiver(ca, port=port) as receiver:
        second = ServerProcess(data_dir, **settings).start()
        try:
            [got] = receiver.wait_for(1, "/hook", timeout=30)
            assert b'"event":"completed"' in got.body
            deadline = time.monotonic() + 10
            while True:
                job = httpx.get(f"{second.url}/v2/jobs/{job_id}", headers=headers).json()
                if job["webhookStatus"] == "delivered":
                    break
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            second.stop()
